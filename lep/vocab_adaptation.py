"""Step 1 of LEP: the four vocabulary variants of docs/method.md §2, built on a base tokenizer.

- bpe / unigram: a new vocabulary replaces the base's; special tokens, roles and chat template kept.
- extend: a Russian BPE's new tokens are appended after every base id; new merges go first.
- optimize: the base shrinks to the tokens it keeps (its most frequent on the corpus, as the
  paper says, or its lowest ids, as the authors' shrink_tokenizer.py does), then is extended;
  an old-id -> new-id map is written beside the tokenizer for the embedding step.

The replacement vocabularies are trained by Hugging Face `tokenizers` or, as the authors trained
theirs, by SentencePiece (`trainer`); `ignore_merges` sets the BPE option of that name (LLaMa-3's
own tokenizer has it on, so its extended variants inherit it).
"""

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from importlib.metadata import version
from pathlib import Path

import numpy as np
from tokenizers import AddedToken, Tokenizer, models
from transformers import PreTrainedTokenizerFast
from transformers.tokenization_utils_base import generate_merges

from lep.atomic_write import write_json
from lep.corpus import batched, iter_corpus, require_text, without_latin
from lep.errors import InputError, TokenizerError
from lep.reference_tokenizers import load_tokenizer
from lep.stage_settings import TokenizerSettings, tokenizer_problems
from lep.staging import check_free, staged_dir
from lep.token_bytes import byte_fallback_ids, is_byte_level, spells_cyrillic, vocabulary_bytes
from lep.tokenizer_json import Merge, TokenizerParts, parse_merges, rebind_special_ids, wrap_like
from lep.tokenizer_training import (
    sentencepiece_decoder,
    train_bpe,
    train_sentencepiece,
    train_unigram,
    training_pre_tokenizer,
)
from lep.validation import check_fields, raise_problems

MANIFEST = "lep_tokenizer.json"
ID_MAP = "old_to_new_ids.json"
BYTE_TOKENS = 256


@dataclass(kw_only=True)
class AdaptationRequest(TokenizerSettings):
    """Everything `adapt_tokenizer` needs: the settings, and the base, corpus and output they apply to."""

    base: str
    corpus: list[Path]
    out: Path
    overwrite: bool = False


@dataclass
class CorpusFingerprint:
    """Hash and size of the exact normalised text a tokenizer was trained on."""

    paths: list[Path]
    max_chars: int | None
    sha256: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    chars: int = 0
    units: int = 0

    def stream(self) -> Iterator[str]:
        """The corpus again; the first full pass also feeds the fingerprint."""
        first = self.units == 0
        for text in iter_corpus(self.paths, self.max_chars):
            if first:
                self.sha256.update(text.encode("utf-8") + b"\n")
                self.chars += len(text)
                self.units += 1
            yield text

    def to_json(self) -> dict:
        return {
            "paths": [str(p) for p in self.paths],
            "max_chars": self.max_chars,
            "units": self.units,
            "chars": self.chars,
            "sha256": self.sha256.hexdigest(),
        }


def new_token_text(texts: Iterable[str], drop_latin: bool) -> Iterator[str]:
    """The text a new BPE learns from: `texts`, or each without its Latin-script words (empty units skipped)."""
    if not drop_latin:
        yield from texts
        return
    for text in texts:
        if kept := without_latin(text):
            yield kept


def _special_tokens(base: PreTrainedTokenizerFast) -> list[dict]:
    return TokenizerParts.of(base).added


def _check_size(base: PreTrainedTokenizerFast, size: int | None, flag: str) -> int:
    specials = len(_special_tokens(base))
    minimum = specials + BYTE_TOKENS + 1
    if size is None:
        raise InputError(f"{flag} is required for this method")
    if size < minimum:
        raise InputError(
            f"{flag} {size} is too small: the base has {specials} special tokens and "
            f"{BYTE_TOKENS} byte tokens must fit; use at least {minimum}"
        )
    return size


def _sentencepiece_core(base: PreTrainedTokenizerFast) -> list[str]:
    """Special tokens that live inside a SentencePiece-style model vocabulary (<unk>, <s>, </s>)."""
    parts = TokenizerParts.of(base)
    return [t["content"] for t in parts.added if t["content"] in parts.vocab]


def _assemble(base: PreTrainedTokenizerFast, model: models.Model, byte_level: bool) -> PreTrainedTokenizerFast:
    """A new model behind the base's normaliser and post-processor, base special tokens re-added."""
    source = base.backend_tokenizer
    backend = Tokenizer(model)
    backend.normalizer = source.normalizer
    backend.pre_tokenizer = training_pre_tokenizer(base, byte_level)
    backend.decoder = source.decoder if byte_level == is_byte_level(base) else sentencepiece_decoder()
    backend.post_processor = source.post_processor
    backend.add_special_tokens(
        [
            AddedToken(
                t["content"],
                single_word=t["single_word"],
                lstrip=t["lstrip"],
                rstrip=t["rstrip"],
                normalized=t["normalized"],
                special=t["special"],
            )
            for t in sorted(_special_tokens(base), key=lambda t: t["id"])
        ]
    )
    return wrap_like(rebind_special_ids(backend), base)


def _trained_model(trained: Tokenizer) -> dict:
    return json.loads(trained.to_str())["model"]


def _sentencepiece_prefix(base: PreTrainedTokenizerFast) -> list[str]:
    """Core specials (an <unk> when the base has none) then the 256 byte-fallback tokens."""
    core = _sentencepiece_core(base) if not is_byte_level(base) else []
    unknown = [] if base.unk_token in core else [base.unk_token or "<unk>"]
    return core + unknown + [f"<0x{b:02X}>" for b in range(BYTE_TOKENS)]


def _sentencepiece_model(prefix: list[str], texts: Iterable[str], train_size: int, kind: str, unk: str) -> models.Model:
    """A BPE or Unigram model from SentencePiece's pieces behind `prefix` (specials and byte tokens)."""
    trained = train_sentencepiece(texts, train_size + 1 + BYTE_TOKENS, kind)  # + its <unk> and byte pieces
    seen = set(prefix)
    pieces = [(piece, score) for piece, score in trained if piece not in seen]
    if kind == "unigram":
        return models.Unigram([(token, 0.0) for token in prefix] + pieces, unk_id=prefix.index(unk), byte_fallback=True)
    vocab = {token: i for i, token in enumerate([*prefix, *(piece for piece, _ in pieces)])}
    return models.BPE(
        vocab, generate_merges(vocab, skip_tokens=prefix), unk_token=unk, fuse_unk=True, byte_fallback=True
    )


def replace_vocabulary(
    base: PreTrainedTokenizerFast, texts: Iterable[str], vocab_size: int, kind: str, trainer: str = "hf"
) -> PreTrainedTokenizerFast:
    """bpe / unigram: a new vocabulary of `vocab_size` model entries.

    With `trainer` "hf", BPE keeps the base's style and Unigram is SentencePiece-style; with
    "sentencepiece" both are trained by SentencePiece, SentencePiece-style, as the authors did.
    """
    byte_level = is_byte_level(base) and kind == "bpe" and trainer == "hf"
    prefix = [] if byte_level else _sentencepiece_prefix(base)
    train_size = vocab_size - len(prefix)
    base_model = TokenizerParts.of(base).spec["model"]
    if trainer == "sentencepiece":
        model = _sentencepiece_model(prefix, texts, train_size, kind, base.unk_token or "<unk>")
    elif kind == "bpe":
        trained = _trained_model(train_bpe(base, texts, train_size))
        vocab = {token: i for i, token in enumerate(prefix)}
        for token, _ in sorted(trained["vocab"].items(), key=lambda item: item[1]):
            vocab.setdefault(token, len(vocab))
        model = models.BPE(
            vocab,
            parse_merges(trained),
            unk_token=base_model.get("unk_token"),
            fuse_unk=base_model.get("fuse_unk", False),
            byte_fallback=not byte_level,
        )
    else:
        unk = base.unk_token or "<unk>"
        trained = _trained_model(train_unigram(base, texts, train_size + 1, unk))
        pieces = [(token, 0.0) for token in prefix]
        seen = set(prefix)
        pieces += [(piece, score) for piece, score in trained["vocab"] if piece not in seen]
        model = models.Unigram(pieces, unk_id=prefix.index(unk), byte_fallback=True)
    return _assemble(base, model, byte_level)


def _cyrillic_merges(merges: list[Merge], tokens: set[str], byte_level: bool) -> tuple[list[Merge], set[str]]:
    """The merges, in order, that make a token with a Cyrillic letter from tokens that exist by then (no text
    without Cyrillic can use one, so such text tokenises exactly as the base tokenises it), and `tokens` with
    what they make."""
    kept, have = [], set(tokens)
    for left, right in merges:
        merged = left + right
        if left in have and right in have and spells_cyrillic(merged, byte_level):
            kept.append((left, right))
            have.add(merged)
    return kept, have


def extend_vocabulary(
    base: PreTrainedTokenizerFast, texts: Iterable[str], new_vocab_size: int, cyrillic_only: bool = True
) -> PreTrainedTokenizerFast:
    """extend: append the new tokens of a Russian BPE after every base id; its merges go first. `cyrillic_only`
    keeps only the tokens and merges that spell a Cyrillic letter (numbers, punctuation and stray bytes the
    Russian BPE also learns would otherwise change how English and code are cut)."""
    parts = TokenizerParts.of(base)
    russian = _trained_model(train_bpe(base, texts, new_vocab_size))
    taken = set(parts.vocab) | parts.added_contents
    # All of the Russian BPE's merges, in its own order, ahead of the base's: dropping the ones the
    # base also has would leave them at their (late) base rank and break the Russian merge chains.
    first = parse_merges(russian)
    new_tokens = [t for t, _ in sorted(russian["vocab"].items(), key=lambda item: item[1])]
    if cyrillic_only:
        byte_level, merged = is_byte_level(base), {left + right for left, right in first}
        # the base's tokens and the Russian BPE's own Cyrillic alphabet (characters the base lacks), then what
        # the kept merges make of them
        have = set(parts.vocab) | {t for t in new_tokens if t not in merged and spells_cyrillic(t, byte_level)}
        first, have = _cyrillic_merges(first, have, byte_level)
        new_tokens = [t for t in new_tokens if t in have]
    next_id = parts.next_id()
    for token in new_tokens:
        if token not in taken:
            parts.vocab[token] = next_id
            taken.add(token)
            next_id += 1
    seen = set(first)
    parts.merges = first + [m for m in parts.merges if m not in seen]
    return wrap_like(parts.build(), base)


def token_frequencies(tokenizer: PreTrainedTokenizerFast | Tokenizer, texts: Iterable[str], size: int) -> np.ndarray:
    """How often each id occurs when the corpus is encoded (no special tokens)."""
    backend = tokenizer.backend_tokenizer if isinstance(tokenizer, PreTrainedTokenizerFast) else tokenizer
    counts = np.zeros(size, dtype=np.int64)
    for batch in batched(texts, 1000):
        ids = [i for encoding in backend.encode_batch_fast(batch, add_special_tokens=False) for i in encoding.ids]
        counts += np.bincount(np.asarray(ids, dtype=np.int64), minlength=size)[:size]
    return counts


class _Reachability:
    """Adds, with a token, the merge parts it is built from, so BPE can still produce it."""

    def __init__(self, merges: list[Merge], alphabet: set[str]):
        self.producers: dict[str, list[Merge]] = {}
        for left, right in merges:
            self.producers.setdefault(left + right, []).append((left, right))
        self.alphabet = alphabet

    def closure(self, token: str, have: set[str]) -> list[str]:
        """`token` plus whatever of its parts `have` lacks, parts first."""
        added: list[str] = []
        stack = [token]
        while stack:
            current = stack.pop()
            if current in have or current in added:
                continue
            producers = self.producers.get(current, [])
            if current in self.alphabet or not producers or any(a in have and b in have for a, b in producers):
                added.append(current)
                continue
            missing = [p for p in producers[0] if p not in have and p not in added]
            if missing:
                stack.append(current)
                stack.extend(missing)
            else:
                added.append(current)
        return added


def optimize_vocabulary(
    base: PreTrainedTokenizerFast,
    corpus: CorpusFingerprint,
    keep: int,
    new_vocab_size: int,
    vocab_size: int | None,
    keep_by: str = "frequency",
    drop_latin: bool = False,
) -> tuple[PreTrainedTokenizerFast, dict[int, int]]:
    """optimize: keep `keep` base tokens (+ specials and bytes), then extend to `vocab_size`.

    `keep_by` "frequency" keeps the most frequent on the corpus (the paper's text), "lowest-ids"
    the first ids of the base (the authors' code; a BPE's ids follow its merge order). `drop_latin`
    applies to the new BPE's text only: the base tokens kept are counted on the whole corpus.
    """
    parts = TokenizerParts.of(base)
    id_to_token = {i: t for t, i in parts.vocab.items()}
    byte_level = is_byte_level(base)
    bytes_of = vocabulary_bytes(base)
    if byte_level:
        always = {i for i, b in bytes_of.items() if len(b) == 1}
    else:
        always = byte_fallback_ids(base) | {parts.vocab[t] for t in _sentencepiece_core(base)}
    ordinary = sorted(i for i in id_to_token if i not in always)
    if keep_by == "frequency":
        frequencies = token_frequencies(base, corpus.stream(), len(base))
        ordinary.sort(key=lambda i: (-frequencies[i], i))
    alphabet = {id_to_token[i] for i in always}
    reach = _Reachability(parts.merges, alphabet)
    kept = set(alphabet)
    for i in ordinary[:keep]:
        kept.update(reach.closure(id_to_token[i], kept))
    if vocab_size and len(kept) + len(parts.added) >= vocab_size:
        raise InputError(
            f"keep={keep} keeps {len(kept) + len(parts.added)} base tokens (with bytes, specials and the merges they "
            f"need), which fills vocab_size={vocab_size}: lower --keep or raise --vocab-size"
        )

    russian_tokenizer = train_bpe(base, new_token_text(corpus.stream(), drop_latin), new_vocab_size)
    russian = _trained_model(russian_tokenizer)
    russian_frequencies = token_frequencies(
        russian_tokenizer, new_token_text(corpus.stream(), drop_latin), len(russian["vocab"])
    )
    russian_reach = _Reachability(parse_merges(russian) + parts.merges, alphabet)
    limit = (vocab_size - len(parts.added_contents - set(parts.vocab))) if vocab_size else None
    chosen = set(kept)
    new_tokens: list[str] = []
    for token, i in sorted(russian["vocab"].items(), key=lambda item: (-russian_frequencies[item[1]], item[1])):
        if limit is not None and len(chosen) >= limit:
            break
        for piece in russian_reach.closure(token, chosen):
            chosen.add(piece)
            if piece not in kept:
                new_tokens.append(piece)

    old_ids = sorted(parts.vocab[t] for t in kept)
    id_map = {old: new for new, old in enumerate(old_ids)}
    for token in sorted(parts.added, key=lambda t: t["id"]):
        if token["id"] not in id_map:
            id_map[token["id"]] = len(id_map)
    for token in parts.added:
        token["id"] = id_map[token["id"]]
    vocab = {id_to_token[old]: id_map[old] for old in old_ids}
    for token in new_tokens:
        vocab[token] = len(id_map) + len(vocab) - len(old_ids)
    final = set(vocab)
    merges = [m for m in parse_merges(russian) if m[0] in final and m[1] in final and m[0] + m[1] in final]
    seen = set(merges)
    merges += [m for m in parts.merges if m not in seen and m[0] in final and m[1] in final and m[0] + m[1] in final]
    parts.vocab, parts.merges = vocab, merges
    return wrap_like(parts.build(), base), id_map


def with_ignore_merges(tokenizer: PreTrainedTokenizerFast, ignore_merges: bool) -> PreTrainedTokenizerFast:
    """The same BPE tokenizer with `ignore_merges` set: a word already in the vocabulary is one token."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec["model"]["ignore_merges"] = ignore_merges
    return wrap_like(Tokenizer.from_str(json.dumps(spec, ensure_ascii=False)), tokenizer)


def check_request(request: AdaptationRequest | dict) -> AdaptationRequest:
    """The request's settings checked against their ranges and each other, every problem at once."""
    values = request if isinstance(request, dict) else {f.name: getattr(request, f.name) for f in fields(request)}
    request = check_fields(AdaptationRequest, values, "tokenizer settings")
    raise_problems("tokenizer settings", tokenizer_problems(request))
    return request


def _check_lossless(tokenizer: PreTrainedTokenizerFast, texts: Iterable[str]) -> None:
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)
        if tokenizer.decode(ids) != text:
            raise TokenizerError(f"the adapted tokenizer does not round-trip {text[:60]!r}; please report this")


def adapt_tokenizer(request: AdaptationRequest) -> Path:
    """Build the requested variant and write it as an HF tokenizer dir with a manifest; returns the dir."""
    request = check_request(request)
    out = Path(request.out)
    check_free(out, request.overwrite)
    base = load_tokenizer(request.base)
    require_text(request.corpus)
    corpus = CorpusFingerprint(request.corpus, request.max_chars)
    if request.method in ("extend", "optimize") and base.backend_tokenizer.model.__class__.__name__ != "BPE":
        raise TokenizerError(
            f"{request.base} is not a BPE tokenizer; '{request.method}' needs a BPE or SentencePiece-BPE base"
        )
    started = time.perf_counter()
    id_map = None
    drop_latin = request.drops_latin()
    if request.method in ("bpe", "unigram"):
        size = _check_size(base, request.vocab_size or len(TokenizerParts.of(base).vocab), "--vocab-size")
        texts = new_token_text(corpus.stream(), drop_latin)
        tokenizer = replace_vocabulary(base, texts, size, request.method, request.trainer)
    elif request.method == "extend":
        tokenizer = extend_vocabulary(
            base,
            new_token_text(corpus.stream(), drop_latin),
            _check_size(base, request.new_vocab_size, "--new-vocab-size"),
            request.cyrillic_only(),
        )
    else:
        new_size = _check_size(base, request.new_vocab_size, "--new-vocab-size")
        if request.vocab_size is not None:
            _check_size(base, request.vocab_size, "--vocab-size")
        if request.keep is None:  # check_request requires it for 'optimize'
            raise InputError("--keep N (how many frequent base tokens to keep) is required for 'optimize'")
        tokenizer, id_map = optimize_vocabulary(
            base, corpus, request.keep, new_size, request.vocab_size, request.keep_by, drop_latin
        )
    if request.ignore_merges is not None:
        tokenizer = with_ignore_merges(tokenizer, request.ignore_merges)
    seconds = time.perf_counter() - started
    _check_lossless(tokenizer, iter_corpus(request.corpus, 200_000))

    with staged_dir(out) as staging:
        tokenizer.save_pretrained(staging)
        if id_map is not None:
            write_json(staging / ID_MAP, {str(k): v for k, v in sorted(id_map.items())})
        write_json(
            staging / MANIFEST,
            {
                "method": request.method,
                "base": request.base,
                "base_vocab_size": len(base),
                "vocab_size": len(tokenizer),
                "settings": {
                    "vocab_size": request.vocab_size,
                    "new_vocab_size": request.new_vocab_size,
                    "keep": request.keep,
                    "trainer": request.trainer,
                    "keep_by": request.keep_by,
                    "ignore_merges": json.loads(tokenizer.backend_tokenizer.to_str())["model"].get("ignore_merges"),
                    "latin_words": "dropped" if drop_latin else "kept",
                    "new_tokens": "cyrillic" if request.cyrillic_only() else "all",
                },
                "corpus": corpus.to_json(),
                "id_map": ID_MAP if id_map is not None else None,
                "base_ids_unchanged": request.method == "extend",
                "train_seconds": round(seconds, 1),
                "lep_bench_version": version("lep-bench"),
            },
        )
    return out
