"""The fastest exact batch encoder for a tokenizer: tiktoken's Rust BPE when provably equivalent.

A byte-level BPE converted from tiktoken ranks (LLaMa-3, cl100k, o200k, ...) tokenizes exactly
as tiktoken does when (1) ids are the ranks, (2) its merges are every split of every token into
two tokens, ordered by the rank of the result (how transformers' TikTokenConverter writes them),
(3) whole words in the vocabulary are taken as they are (`ignore_merges`), and (4) it pre-splits
with one regex and maps bytes with the standard byte-level alphabet, nothing else. All four are
checked from the tokenizer's own JSON; any other tokenizer (an extended vocabulary, whose new
merges come first, say) uses the Hugging Face batch encoder. On Russian prose tiktoken's regex
engine is about twice as fast as the Oniguruma one HF tokenizers uses.
"""

import json
import re
from collections.abc import Callable

import tiktoken
from transformers import PreTrainedTokenizerFast

from lep.token_bytes import byte_level_bytes
from lep.tokenizer_json import parse_merges

BatchEncoder = Callable[[list[str]], list[list[int]]]


def _single_regex(pre_tokenizer: dict | None) -> str | None:
    """The regex of a Sequence[Split(regex, isolated), ByteLevel(no regex, no prefix space)], else None."""
    if not pre_tokenizer or pre_tokenizer.get("type") != "Sequence" or len(pre_tokenizer["pretokenizers"]) != 2:
        return None
    split, byte_level = pre_tokenizer["pretokenizers"]
    if (
        split.get("type") != "Split"
        or "Regex" not in split.get("pattern", {})
        or split.get("behavior") != "Isolated"
        or split.get("invert")
    ):
        return None
    if byte_level.get("type") != "ByteLevel" or byte_level.get("use_regex") or byte_level.get("add_prefix_space"):
        return None
    return split["pattern"]["Regex"]


def tiktoken_equivalent(tokenizer: PreTrainedTokenizerFast) -> tiktoken.Encoding | None:
    """A tiktoken Encoding that gives the same ids as `tokenizer` (no special tokens), or None."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    pattern = _single_regex(spec.get("pre_tokenizer"))
    if model.get("type") != "BPE" or not model.get("ignore_merges") or spec.get("normalizer") or pattern is None:
        return None
    added = {t["content"] for t in spec["added_tokens"]}
    ranks: dict[bytes, int] = {}
    for token, rank in model["vocab"].items():
        if token in added:
            continue
        data = byte_level_bytes(token)
        if data is None:
            return None
        ranks[data] = rank
    if sorted(ranks.values()) != list(range(len(ranks))):
        return None
    expected = []
    for data, rank in ranks.items():
        splits = [(data[:i], data[i:]) for i in range(1, len(data)) if data[:i] in ranks and data[i:] in ranks]
        expected += sorted(((rank, ranks[a], ranks[b]) for a, b in splits), key=lambda m: (m[1], m[2]))
    expected.sort(key=lambda m: m[0])
    merges = parse_merges(model)
    if len(merges) != len(expected):
        return None
    for (left, right), (rank, left_rank, right_rank) in zip(merges, expected):
        if model["vocab"].get(left) != left_rank or model["vocab"].get(right) != right_rank:
            return None
    return tiktoken.Encoding(name="lep-equivalent", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})


def batch_encoder(tokenizer: PreTrainedTokenizerFast, threads: int = 8) -> tuple[BatchEncoder, str]:
    """(encode a batch of texts without special tokens, which engine it uses).

    Texts that spell out a special token (which HF matches as that token, tiktoken as plain text)
    go through the HF encoder, so the two paths agree everywhere.
    """
    backend = tokenizer.backend_tokenizer

    def hf(batch: list[str]) -> list[list[int]]:
        return [e.ids for e in backend.encode_batch_fast(batch, add_special_tokens=False)]

    encoding = tiktoken_equivalent(tokenizer)
    if encoding is None:
        return hf, "tokenizers"
    specials = re.compile("|".join(re.escape(t.content) for t in tokenizer.added_tokens_decoder.values()) or "(?!)")

    def fast(batch: list[str]) -> list[list[int]]:
        ids = encoding.encode_ordinary_batch(batch, num_threads=threads)
        marked = [i for i, text in enumerate(batch) if specials.search(text)]
        for i, exact in zip(marked, hf([batch[i] for i in marked])):
            ids[i] = exact
        return ids

    return fast, "tiktoken"
