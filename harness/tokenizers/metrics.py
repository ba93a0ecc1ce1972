"""Tokenizer-efficiency metrics on streamed corpora (docs/method.md §8).

Counts are taken without special tokens. Words are maximal runs of letters/digits (`\\w+`);
fertility and the share of words kept in at most two tokens encode each distinct word on its
own with a leading space (its usual form inside running text) and weight it by its frequency.
"""

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
from transformers import PreTrainedTokenizerFast

from harness.tokenizers.fast_encoding import BatchEncoder, batch_encoder
from lep.corpus import batched
from lep.token_bytes import byte_fallback_ids, vocabulary_bytes

_WORD = re.compile(r"\w+")
BATCH_SIZE = 1000


@dataclass
class CorpusCounts:
    """Raw totals for one tokenizer on one corpus; every ratio is derived from these."""

    units: int = 0
    chars: int = 0
    bytes: int = 0
    tokens: int = 0
    words: int = 0
    word_tokens: int = 0
    words_in_two: int = 0
    unknown_tokens: int = 0
    encode_seconds: float = 0.0
    encoder: str = "tokenizers"

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens if self.tokens else 0.0

    @property
    def bytes_per_token(self) -> float:
        return self.bytes / self.tokens if self.tokens else 0.0

    @property
    def fertility(self) -> float:
        return self.word_tokens / self.words if self.words else 0.0

    @property
    def share_words_in_two(self) -> float:
        return self.words_in_two / self.words if self.words else 0.0

    @property
    def unknown_rate(self) -> float:
        return self.unknown_tokens / self.tokens if self.tokens else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.bytes / 1e6 / self.encode_seconds if self.encode_seconds else 0.0

    def summary(self) -> dict[str, float]:
        return {
            **asdict(self),
            "chars_per_token": self.chars_per_token,
            "bytes_per_token": self.bytes_per_token,
            "fertility": self.fertility,
            "share_words_in_two_tokens": self.share_words_in_two,
            "unknown_or_byte_fallback_rate": self.unknown_rate,
            "encode_mb_per_s": self.mb_per_second,
        }


def _unknown_ids(tokenizer: PreTrainedTokenizerFast) -> np.ndarray:
    ids = byte_fallback_ids(tokenizer)
    if tokenizer.unk_token_id is not None:
        ids.add(tokenizer.unk_token_id)
    return np.array(sorted(ids), dtype=np.int64)


def count_corpus(
    tokenizer: PreTrainedTokenizerFast,
    texts: Iterable[str],
    on_batch: Callable[[int], None] | None = None,
    encoder: tuple[BatchEncoder, str] | None = None,
) -> CorpusCounts:
    """Stream `texts` through the tokenizer's fastest exact batched Rust encoder and total the counts.

    Pass `encoder` (from harness.tokenizers.fast_encoding.batch_encoder) to reuse one across corpora.
    """
    encode, engine = encoder or batch_encoder(tokenizer)
    unknown = _unknown_ids(tokenizer)
    counts = CorpusCounts(encoder=engine)
    words: Counter[str] = Counter()
    for batch in batched(texts, BATCH_SIZE):
        started = time.perf_counter()
        encoded = encode(batch)
        counts.encode_seconds += time.perf_counter() - started
        batch_bytes = sum(len(text.encode("utf-8")) for text in batch)
        counts.units += len(batch)
        counts.chars += sum(len(text) for text in batch)
        counts.bytes += batch_bytes
        for ids in encoded:
            counts.tokens += len(ids)
            if unknown.size:
                counts.unknown_tokens += int(np.isin(ids, unknown).sum())
        for text in batch:
            words.update(_WORD.findall(text))
        if on_batch:
            on_batch(batch_bytes)
    _count_words(encode, words, counts)
    return counts


def _count_words(encode, words: Counter[str], counts: CorpusCounts) -> None:
    distinct = list(words)
    for start in range(0, len(distinct), BATCH_SIZE):
        chunk = distinct[start : start + BATCH_SIZE]
        for word, ids in zip(chunk, encode([" " + w for w in chunk])):
            frequency = words[word]
            counts.words += frequency
            counts.word_tokens += frequency * len(ids)
            counts.words_in_two += frequency * (len(ids) <= 2)


def vocabulary_overlap(tokenizer: PreTrainedTokenizerFast, reference: PreTrainedTokenizerFast) -> dict[str, float]:
    """Entries whose bytes the reference vocabulary also has, compared as real bytes."""
    own = set(vocabulary_bytes(tokenizer).values())
    theirs = set(vocabulary_bytes(reference).values())
    shared = len(own & theirs)
    return {"shared_entries": shared, "share_of_own": shared / len(own) if own else 0.0}


@dataclass
class TokenizerReport:
    """Everything measured for one tokenizer: per-language counts plus cross-tokenizer ratios."""

    name: str
    vocab_size: int
    languages: dict[str, CorpusCounts] = field(default_factory=dict)
    nsl: dict[str, float] = field(default_factory=dict)
    parity_ru_en: float | None = None
    overlap: dict[str, float] | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "vocab_size": self.vocab_size,
            "languages": {lang: c.summary() for lang, c in self.languages.items()},
            "nsl_vs_reference": self.nsl,
            "parity_ru_en": self.parity_ru_en,
            "vocabulary_overlap_with_reference": self.overlap,
        }


def normalised_sequence_length(report: TokenizerReport, reference: TokenizerReport) -> dict[str, float]:
    """NSL = Σ|T(x)| / Σ|T_ref(x)| per language, over the same texts."""
    return {
        lang: counts.tokens / reference.languages[lang].tokens
        for lang, counts in report.languages.items()
        if lang in reference.languages and reference.languages[lang].tokens
    }
