"""`adapt check`'s figures with their uncertainty, each model against the original on the same sentences.

- copy rate: k of n exact copies, the exact (Clopper-Pearson) 95% interval; against the original the share of
  its copies kept (k / k_original, the issue's "80% of what the original copies") with a paired bootstrap
  interval by sentence, and the exact McNemar p, Benjamini-Hochberg adjusted over every model and language;
- bits per character: total bits over total characters, a ratio of sums, bootstrapped by sentence (the unit
  it aggregates over), and the paired difference to the original;
- new-token share: of the tokens a model wrote in its copies, and of the sentences' own tokenisation;
- log-prob gap: for each new token in a sentence whose span the original tokenisation also starts and ends a
  token at, the adapted model's log p of the token minus the original's chain-rule log p of the tokens that
  spell it, both read after the same text (nats; 0 means the new token says what its pieces said).
The bootstrap draws one set of sentence indices per language and uses it for every model, so differences pair.
"""

from dataclasses import dataclass
from math import log
from typing import Any

import numpy as np
from scipy.stats import binomtest, false_discovery_control

from harness.adapt_check.held_out import HeldOut
from harness.adapt_check.readings import ModelReading, Scored
from harness.stats.bootstrap import percentile_interval
from harness.stats.exact import PairedCounts, mcnemar

ITERATIONS = 2000
SEED = 0


@dataclass(frozen=True)
class Checked:
    """One model to summarise: its name, reading, the ids its vocabulary has that the original's has not, and what
    its stage manifests say of how it was made."""

    name: str
    reading: ModelReading
    new_ids: frozenset[int]
    made: dict[str, Any]


def exact_interval(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def sentence_gaps(adapted: Scored, original: Scored, new_ids: frozenset[int]) -> tuple[list[float], int]:
    """The log-prob gap of each new token of one sentence whose span starts and ends where original tokens do,
    and how many new tokens it has in all."""
    original_ends = set(original.ends)
    gaps, total, previous = [], 0, 0
    for token, end, log_p in zip(adapted.ids, adapted.ends, adapted.log_probs):
        if token in new_ids:
            total += 1
            if (previous == 0 or previous in original_ends) and end in original_ends:
                pieces = [lp for e, lp in zip(original.ends, original.log_probs) if previous < e <= end]
                gaps.append(log_p - sum(pieces))
        previous = end
    return gaps, total


def _interval(draws: np.ndarray, n: int) -> list[float]:
    finite = draws[np.isfinite(draws)]
    return list(percentile_interval(finite, n)) if len(finite) else [float("nan"), float("nan")]


def _ratio_of_sums(top: np.ndarray, bottom: np.ndarray, draws: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return top[draws].sum(1) / bottom[draws].sum(1)


def _language(model: Checked, original: ModelReading, lang: str, held: HeldOut, draws: np.ndarray) -> dict[str, Any]:
    reading, base = model.reading.languages[lang], original.languages[lang]
    n = len(held.sentences)
    copied = np.array([c == s for c, s in zip(reading.copies, held.sentences)])
    base_copied = np.array([c == s for c, s in zip(base.copies, held.sentences)])
    chars = np.array([len(s) for s in held.sentences], dtype=float)
    bits = np.array([-sum(s.log_probs) / log(2) for s in reading.scored])
    base_bits = np.array([-sum(s.log_probs) / log(2) for s in base.scored])
    tokens = sum(len(s.ids) for s in reading.scored)
    written = [t for ids in reading.copy_ids for t in ids]
    per_sentence = [sentence_gaps(a, o, model.new_ids) for a, o in zip(reading.scored, base.scored)]
    gap_sums = np.array([sum(g) for g, _ in per_sentence])
    gap_counts = np.array([len(g) for g, _ in per_sentence], dtype=float)
    k, k0 = int(copied.sum()), int(base_copied.sum())
    bits_delta = _ratio_of_sums(bits, chars, draws) - _ratio_of_sums(base_bits, chars, draws)
    return {
        "n": n,
        "chars_per_token": float(chars.sum() / tokens),
        "chars_per_token_original": float(chars.sum() / sum(len(s.ids) for s in base.scored)),
        "copy": {"k": k, "rate": k / n, "ci": list(exact_interval(k, n))},
        "copy_kept": {
            "original_k": k0,
            "share": k / k0 if k0 else float("nan"),
            "ci": _interval(_ratio_of_sums(copied.astype(float), base_copied.astype(float), draws), n),
            "p": mcnemar(PairedCounts.of(copied, base_copied))[0],
        },
        "bits_per_char": {
            "value": float(bits.sum() / chars.sum()),
            "ci": _interval(_ratio_of_sums(bits, chars, draws), n),
        },
        "bits_delta": {
            "value": float((bits.sum() - base_bits.sum()) / chars.sum()),
            "ci": _interval(bits_delta, n),
        },
        "new_tokens": {
            "written": len(written),
            "output_share": sum(t in model.new_ids for t in written) / len(written) if written else 0.0,
            "text_share": sum(t in model.new_ids for s in reading.scored for t in s.ids) / tokens,
        },
        "gap": {
            "occurrences": int(gap_counts.sum()),
            "aligned_share": float(gap_counts.sum() / max(1, sum(total for _, total in per_sentence))),
            "mean": float(gap_sums.sum() / gap_counts.sum()) if gap_counts.sum() else float("nan"),
            "ci": _interval(_ratio_of_sums(gap_sums, gap_counts, draws), n),
        },
    }


def summarise(models: list[Checked], original: ModelReading, held: dict[str, HeldOut]) -> list[dict[str, Any]]:
    """Per model (the original first) and language, every figure with its interval; p-values BH-adjusted."""
    rng = np.random.default_rng(SEED)
    draws = {lang: rng.integers(0, len(h.sentences), (ITERATIONS, len(h.sentences))) for lang, h in held.items()}
    rows: list[dict[str, Any]] = [
        {
            "name": m.name,
            "seconds": m.reading.seconds,
            "made": m.made,
            "languages": {lang: _language(m, original, lang, h, draws[lang]) for lang, h in held.items()},
        }
        for m in models
    ]
    cells = [r["languages"][lang]["copy_kept"] for r in rows[1:] for lang in held]
    if cells:
        for cell, adjusted in zip(cells, false_discovery_control([c["p"] for c in cells])):
            cell["p_adjusted"] = float(adjusted)
    return rows
