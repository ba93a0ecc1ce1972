"""Paired bootstrap confidence intervals for score differences between two runs on the same items.

Each iteration draws one resample of item ids per task (the same draw for both models, fixed seed),
recomputes each model's task score with the task's own aggregation (macro-F1, MCC, chrF++, ... are
not means of per-item values), and takes the difference; a group's difference is the mean of its
tasks' differences in that iteration. The 95% interval is the 2.5th-97.5th percentile.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tasks_ru.suites import score_aggregation


@dataclass(frozen=True)
class Delta:
    delta: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def _delta(point: float, draws: np.ndarray) -> Delta:
    low, high = np.percentile(draws, [2.5, 97.5])
    return Delta(float(point), float(low), float(high))


def _paired_items(a: dict[int, object], b: dict[int, object]) -> tuple[list, list]:
    ids = sorted(set(a) & set(b))
    return [a[i] for i in ids], [b[i] for i in ids]


def paired_bootstrap(
    candidate: dict[str, dict[int, object]],
    reference: dict[str, dict[int, object] | float],
    groups: dict[str, list[str]],
    iterations: int = 1000,
    seed: int = 0,
    aggregation: Callable[[str], Callable[[list], float]] = score_aggregation,
) -> dict[str, Delta]:
    """Deltas (candidate − reference) per task and per group, from per-sample `score` items by doc id.

    A reference given as a plain score (a baseline file without samples) is held fixed, so the
    interval then reflects the candidate's sampling noise only.
    """
    rng = np.random.default_rng(seed)
    tasks = sorted(set(candidate) & set(reference))
    fixed = {t: float(reference[t]) for t in tasks if isinstance(reference[t], (int, float))}
    paired = {t: (list(candidate[t].values()), []) if t in fixed else _paired_items(candidate[t], reference[t]) for t in tasks}
    aggregate = {t: aggregation(t) for t in tasks}

    def ref_score(t: str, items: list) -> float:
        return fixed[t] if t in fixed else aggregate[t](items)

    point = {t: aggregate[t](paired[t][0]) - ref_score(t, paired[t][1]) for t in tasks}
    draws = {t: np.empty(iterations) for t in tasks}
    for k in range(iterations):
        for t in tasks:
            cand, ref = paired[t]
            index = rng.integers(0, len(cand), len(cand))
            draws[t][k] = aggregate[t]([cand[i] for i in index]) - ref_score(t, [ref[i] for i in index] if ref else [])
    out = {t: _delta(point[t], draws[t]) for t in tasks}
    for group, members in groups.items():
        if members and all(m in draws for m in members):
            stacked = np.mean([draws[m] for m in members], axis=0)
            out[group] = _delta(float(np.mean([point[m] for m in members])), stacked)
    return out
