"""Lengths in the evaluated model's own tokens, which the copy-task scores are defined in."""

from functools import lru_cache

from tasks_ru.errors import TaskDataError


@lru_cache(maxsize=4)
def _tokenizer(path: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def count_tokens(tokenizer: str | None, text: str) -> int:
    """Tokens of `text` without special tokens; `tokenizer` is the path the harness passes as metadata."""
    if not tokenizer:
        raise TaskDataError(
            "copy tasks measure length in the model's tokens: pass the tokenizer path as task metadata "
            "(lep-bench run does; with lm-eval directly: --metadata '{\"tokenizer\": \"/path/to/model\"}')"
        )
    return len(_tokenizer(tokenizer)(text, add_special_tokens=False)["input_ids"])
