"""Bits per character of held-out text: a likelihood that models with different tokenizers share.

Per-token perplexity cannot compare an extended tokenizer with its base (the tokens differ); the text's
characters do not. Each sentence of FLORES-200 devtest (no lep-bench tokenizer or training corpus holds it) is
read whole after BOS, and the task's score is the pooled −log2 p over all its characters: total bits over total
characters, the ratio lm-eval's `bits_per_byte` takes over bytes. The sentence is the resampling unit, so the
interval and the paired tests resample (log p, characters) pairs by sentence. Lower is better.
"""

import math
from typing import Any

from tasks_ru.data_sources import FLORES_DEVTEST, FLORES_FILES, data_root
from tasks_ru.rows import Docs, dataset, read_lines


def flores_text(lang: str, data_dir: str | None = None, **_: Any) -> Docs:
    """FLORES-200 devtest in one language, a sentence a doc."""
    lines = read_lines(data_root(data_dir) / FLORES_DEVTEST / FLORES_FILES[lang])
    return {"test": dataset([{"text": line} for line in lines if line.strip()])}


def log_prob_and_chars(doc: dict, results: list) -> dict[str, tuple[float, int]]:
    """lm-eval's rolling log-likelihood of the sentence (natural log) with its length in characters."""
    (log_prob,) = results
    item = (float(log_prob), len(doc["text"]))
    return {"bits_per_char": item, "score": item}


def pooled_bits_per_char(items: list[tuple[float, int]]) -> float:
    """Total bits over total characters."""
    return -sum(log_prob for log_prob, _ in items) / math.log(2) / sum(chars for _, chars in items)
