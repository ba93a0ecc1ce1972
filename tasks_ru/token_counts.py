"""Lengths in the evaluated model's own tokens, which the copy and extractive scores are defined in."""

from functools import lru_cache

from tasks_ru.errors import TaskDataError


@lru_cache(maxsize=4)
def _tokenizer(path: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def tokenizer_at(path: str | None):
    """The tokenizer the harness passes as task metadata (copy and extractive tasks need it)."""
    if not path:
        raise TaskDataError(
            "copy and extractive tasks measure length in the model's tokens: pass the tokenizer path as task metadata "
            '(lep-bench run does; with lm-eval directly: --metadata \'{"tokenizer": "/path/to/model"}\')'
        )
    return _tokenizer(path)


def count_tokens(tokenizer: str | None, text: str) -> int:
    """Tokens of `text` without special tokens."""
    return len(tokenizer_at(tokenizer)(text, add_special_tokens=False)["input_ids"])


@lru_cache(maxsize=4)
def leading_space(tokenizer: str | None) -> bool:
    """llmtf's test: a tokenizer "has a leading space" when "1" is more than one token or a token longer
    than one character (SentencePiece's "▁1"); byte-level BPE ("1") has none."""
    tok = tokenizer_at(tokenizer)
    ids = tok("1", add_special_tokens=False)["input_ids"]
    return len(ids) > 1 or len(tok.convert_ids_to_tokens(ids)[0]) != 1


def copy_source_tokens(tokenizer: str | None, source: str, max_new_tokens: int) -> int:
    """llmtf's source length: the text, with a space put in front for a tokenizer without a leading
    space (so it is counted as a continuation), in tokens, capped at the generation limit."""
    text = source if leading_space(tokenizer) else " " + source
    return min(count_tokens(tokenizer, text), max_new_tokens)


def cut_to_tokens(tokenizer: str | None, prefix: str, texts: list[str]) -> list[str]:
    """Each `prefix + text` cut to the token length of the shortest, returned without the prefix.

    llmtf ranks Gazeta sentences by the mean log-probability of the first n tokens of the answer turn,
    n the shortest candidate's length; the prefix is shared, so the rank is that of the summed
    log-probabilities of the cut texts.
    """
    tok = tokenizer_at(tokenizer)
    encoded = [tok(prefix + t, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"] for t in texts]
    shortest = min(len(offsets) for offsets in encoded)
    return [
        (prefix + t)[: offsets[shortest - 1][1]][len(prefix) :] if shortest else ""
        for t, offsets in zip(texts, encoded)
    ]
