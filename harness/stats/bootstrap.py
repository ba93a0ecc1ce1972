"""Bootstrap intervals for task, group and total scores and for paired differences between models.

Each task is resampled by its aggregation's unit (harness/stats/task_statistics.py: PARus item, USE variant,
MMLU within subject, else document). One draw is a count vector over units, shared by every model of
a comparison (the pairing), and every model's score follows from one matrix product of the counts
with the unit statistics, so 13 models × 17 tasks × 1,000 draws take seconds (benchmarks/bootstrap_speed.py).
A group's draw is the mean of its tasks' draws. Intervals are expanded percentile intervals (the
tails widened for the unit count n, Hesterberg 2015, nearly plain percentiles beyond n ≈ 100); p-values are
two-sided normal-theory values from the bootstrap standard error; `adjust` applies the
Benjamini-Hochberg correction across every comparison of a report.

scipy.stats.bootstrap does not fit: it has no stratified or cluster draws and computes BCa's
jackknife by re-evaluating the statistic n times (O(n²) on the 14k-item MMLU tasks).
"""

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control, norm
from scipy.stats import t as student_t

from harness.stats.task_statistics import UnitTable, unit_table
from tasks_ru.suites import SUITES, TOTAL, score_aggregation, suite_tasks

# Fewer resampling units than this: no significance mark ("too few items"); benchmarks/bootstrap_coverage.py
# shows the 95% intervals covering under 93% below it.
MIN_UNITS = 30
BATCH = 250  # draws per matrix product (bounds memory on the 14k-item tasks)


def suite_groups(suite: str) -> dict[str, list[str]]:
    """The suite's groups and its total, each with its member tasks (the rows built from task draws)."""
    return {**SUITES[suite], TOTAL[suite]: suite_tasks(suite)}


Items = Mapping[str, Mapping[Any, Any]]  # task -> doc id -> the sample's `score` item
Aggregation = Callable[[str], Callable[[list], float]]


@dataclass(frozen=True)
class Estimate:
    """A score with its bootstrap standard error, 95% percentile interval and resampling-unit count."""

    value: float
    se: float
    low: float
    high: float
    n: int
    unit: str = "units of its tasks"

    def record(self) -> dict[str, float | int | str]:
        return {"score": self.value, "se": self.se, "low": self.low, "high": self.high, "n": self.n, "unit": self.unit}


@dataclass(frozen=True)
class Delta:
    """candidate − reference: 95% percentile interval, p-value (raw and corrected), unit count."""

    delta: float
    low: float
    high: float
    se: float = 0.0
    n: int = 0
    p: float = 1.0
    p_adjusted: float = 1.0

    @property
    def too_few(self) -> bool:
        return self.n < MIN_UNITS

    @property
    def significant(self) -> bool:
        """Significant after the report's multiple-comparison correction, with enough units to tell."""
        return not self.too_few and self.p_adjusted < 0.05


def draw_counts(strata: np.ndarray, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """(iterations, U) how often each unit is drawn (float32), each stratum resampled to its own size."""
    units = len(strata)
    offsets = (units * np.arange(iterations, dtype=np.int64))[:, None]
    if (strata == strata[0]).all():
        picks = rng.integers(0, units, size=(iterations, units)) + offsets
    else:
        order = np.argsort(strata, kind="stable")
        _, starts, sizes = np.unique(strata[order], return_index=True, return_counts=True)
        position = np.repeat(np.arange(len(sizes)), sizes)
        picks = order[starts[position] + rng.integers(0, sizes[position], size=(iterations, units))] + offsets
    return np.bincount(picks.ravel(), minlength=iterations * units).reshape(iterations, units).astype(np.float32)


def resample(table: UnitTable, iterations: int, seed: int) -> np.ndarray:
    """(M, iterations) each model's task score in each draw (the same draws for every model)."""
    rng = np.random.default_rng([seed, zlib.crc32(table.task.encode())])
    models, units, width = table.features.shape
    flat = table.features.transpose(1, 0, 2).reshape(units, models * width).astype(np.float32)
    out = np.empty((models, iterations))
    for start in range(0, iterations, BATCH):
        counts = draw_counts(table.strata, min(BATCH, iterations - start), rng)
        stats = (counts @ flat).reshape(len(counts), models, width).transpose(1, 0, 2)
        out[:, start : start + len(counts)] = table.score(stats.astype(float))
    return out


def _tail(n: int) -> float:
    """Percent in each tail of the expanded percentile interval (Hesterberg 2015): the bootstrap
    spread is too narrow by sqrt((n−1)/n) and normal instead of t, which undercovers at small n."""
    return 100 * float(norm.sf(np.sqrt(n / (n - 1)) * student_t.ppf(0.975, n - 1))) if n > 2 else 2.5


def _interval(point: float, draws: np.ndarray, n: int) -> Estimate:
    tail = _tail(n)
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Estimate(float(point), float(np.std(draws, ddof=1)), float(low), float(high), n)


def _paired(items: list[Mapping[Any, Any]]) -> list[list]:
    ids = sorted(set.intersection(*(set(i) for i in items)), key=lambda d: (str(type(d)), d))
    return [[m[i] for i in ids] for m in items]


def _groups_of(
    rows: dict[str, tuple[float, np.ndarray, int]], groups: Mapping[str, list[str]]
) -> dict[str, tuple[float, np.ndarray, int]]:
    """Group rows (mean of member tasks' points and draws; units summed) where every member is present."""
    out = {}
    for group, members in groups.items():
        if members and all(m in rows for m in members):
            out[group] = (
                float(np.mean([rows[m][0] for m in members])),
                np.mean([rows[m][1] for m in members], axis=0),
                sum(rows[m][2] for m in members),
            )
    return out


def _delta(point: float, draws: np.ndarray, n: int) -> Delta:
    e = _interval(point, draws, n)
    p = float(2 * norm.sf(abs(point) / e.se)) if e.se > 0 else float(point == 0)
    return Delta(e.value, e.low, e.high, e.se, n, p, p)


def comparison_statistics(
    items: Mapping[str, Items],
    pairs: list[tuple[str, str]],
    groups: Mapping[str, list[str]],
    iterations: int = 1000,
    seed: int = 0,
    aggregation: Aggregation = score_aggregation,
) -> tuple[dict[str, dict[str, Estimate]], dict[tuple[str, str], dict[str, Delta]]]:
    """In one pass on shared draws: each model's task, group and total intervals, and the deltas
    (model − reference) of each pair, from per-sample `score` items by doc id. A task's documents
    are those every model scored."""
    models = list(items)
    per_model: dict[str, dict[str, tuple[float, np.ndarray, int]]] = {m: {} for m in models}
    per_pair: dict[tuple[str, str], dict[str, tuple[float, np.ndarray, int]]] = {pair: {} for pair in pairs}
    units = {}
    for task in sorted(set.intersection(*(set(items[m]) for m in models))):
        table = unit_table(task, _paired([items[m][task] for m in models]), aggregation(task))
        point, draws = table.point(), resample(table, iterations, seed)
        units[task] = table.unit
        for i, m in enumerate(models):
            per_model[m][task] = (float(point[i]), draws[i], table.n_units)
        for a, b in pairs:
            i, j = models.index(a), models.index(b)
            per_pair[(a, b)][task] = (float(point[i] - point[j]), draws[i] - draws[j], table.n_units)
    intervals = {
        m: {
            r: replace(_interval(*v), unit=units.get(r, Estimate.unit))
            for r, v in (rows | _groups_of(rows, groups)).items()
        }
        for m, rows in per_model.items()
    }
    deltas = {
        pair: {r: _delta(*v) for r, v in (rows | _groups_of(rows, groups)).items()} for pair, rows in per_pair.items()
    }
    return intervals, deltas


def score_intervals(
    items: Items,
    groups: Mapping[str, list[str]],
    iterations: int = 1000,
    seed: int = 0,
    aggregation: Aggregation = score_aggregation,
) -> dict[str, Estimate]:
    """One run's task, group and total scores with SE, 95% interval and n (units)."""
    return comparison_statistics({"run": items}, [], groups, iterations, seed, aggregation)[0]["run"]


def paired_deltas(
    items: Mapping[str, Items],
    pairs: list[tuple[str, str]],
    groups: Mapping[str, list[str]],
    iterations: int = 1000,
    seed: int = 0,
    aggregation: Aggregation = score_aggregation,
) -> dict[tuple[str, str], dict[str, Delta]]:
    """Deltas (model − reference) per task and group for each (model, reference) pair."""
    models = list(dict.fromkeys(m for pair in pairs for m in pair))
    return comparison_statistics({m: items[m] for m in models}, pairs, groups, iterations, seed, aggregation)[1]


def paired_bootstrap(
    candidate: Items,
    reference: Mapping[str, Mapping[Any, Any] | float],
    groups: Mapping[str, list[str]],
    iterations: int = 1000,
    seed: int = 0,
    aggregation: Aggregation = score_aggregation,
) -> dict[str, Delta]:
    """candidate − reference per task and group. A reference given as a plain score (a baseline file
    without samples) is held fixed, so the interval then reflects the candidate's noise only."""
    rows = {}
    for task in sorted(set(candidate) & set(reference)):
        ref = reference[task]
        if isinstance(ref, (int, float)):
            table = unit_table(task, [list(candidate[task].values())], aggregation(task))
            point, draws = table.point()[0] - ref, resample(table, iterations, seed)[0] - ref
        else:
            table = unit_table(task, _paired([candidate[task], ref]), aggregation(task))
            both, draws_both = table.point(), resample(table, iterations, seed)
            point, draws = both[0] - both[1], draws_both[0] - draws_both[1]
        rows[task] = (float(point), draws, table.n_units)
    return {r: _delta(*v) for r, v in (rows | _groups_of(rows, groups)).items()}


def adjust(deltas: Mapping[Any, Mapping[str, Delta]]) -> dict[Any, dict[str, Delta]]:
    """Benjamini-Hochberg-adjusted p-values across every comparison given (scipy's implementation)."""
    keys = [(k, r) for k, rows in deltas.items() for r in rows]
    if not keys:
        return {k: dict(v) for k, v in deltas.items()}
    adjusted = false_discovery_control([deltas[k][r].p for k, r in keys], method="bh")
    out: dict[Any, dict[str, Delta]] = {k: {} for k in deltas}
    for (k, r), p in zip(keys, adjusted):
        out[k][r] = replace(deltas[k][r], p_adjusted=float(p))
    return out
