"""Scores with their intervals and paired differences with their tests, as a report and the gate show them.

The method follows what a task's score is (docs/statistics.md; coverage measured in harness/stats/coverage.py):

    score                                   one model            difference             test
    mean of 0/1 units                       Wilson               Newcombe (paired)      exact McNemar
    mean of unit values in [0, 1]           bootstrap-t          paired t               permutation (sign-flip)
    macro-F1, MCC, chrF++, category mean    expanded percentile  expanded percentile    permutation (swap)
    group and total rows                    expanded percentile  expanded percentile    permutation (swap)

Every row carries its n (resampling units), its bootstrap standard error and, for differences, the number of
units where the two models differ: with k of them no test can go below p = 2 / 2^k, so a row that cannot reach
p < 0.05 says so instead of a verdict. `adjust` applies the Benjamini-Hochberg correction across every
comparison of a report.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control, norm
from scipy.stats import t as student_t

from harness.stats.bootstrap import percentile_interval, resample, studentised_intervals
from harness.stats.exact import PairedCounts, mcnemar, newcombe, one_sample_binomial, smallest_p, wilson
from harness.stats.permutation import PERMUTATIONS, group_p, permutation_test
from harness.stats.power import ALPHA, detectable_difference
from harness.stats.task_statistics import UnitTable, unit_table
from tasks_ru.suites import SUITES, TOTAL, score_aggregation, suite_tasks

Items = Mapping[str, Mapping[Any, Any]]  # task -> doc id -> the sample's `score` item
Aggregation = Callable[[str], Callable[[list], float]]


def suite_groups(suite: str) -> dict[str, list[str]]:
    """The suite's groups and its total, each with its member tasks (the rows built from task draws)."""
    return {**SUITES[suite], TOTAL[suite]: suite_tasks(suite)}


@dataclass(frozen=True)
class Estimate:
    """A score with its bootstrap standard error, 95% interval, resampling-unit count and interval method."""

    value: float
    se: float
    low: float
    high: float
    n: int
    unit: str = "units of its tasks"
    method: str = "percentile bootstrap"

    def record(self) -> dict[str, float | int | str]:
        return {
            "score": self.value,
            "se": self.se,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "unit": self.unit,
            "method": self.method,
        }


@dataclass(frozen=True)
class Delta:
    """candidate − reference: 95% interval, p-values (two-sided raw and corrected, one-sided drop), unit count,
    how many units differ, and the smallest difference detectable with 80% power."""

    delta: float
    low: float
    high: float
    se: float = 0.0
    n: int = 0
    p: float = 1.0
    p_adjusted: float = 1.0
    p_drop: float = 1.0  # one-sided: "the candidate is worse"
    differing: int | None = None  # units where the two differ (None: not counted, e.g. a fixed reference)
    p_error: float = 0.0  # 95% Monte Carlo error of p (0 when exact)
    interval: str = "percentile bootstrap"
    test: str = "normal theory"
    detectable: float = math.nan
    unit: str = "unit"

    @property
    def reachable(self) -> bool:
        """Whether any outcome with this many differing units could reach p < ALPHA."""
        return self.differing is None or smallest_p(self.differing) < ALPHA

    @property
    def significant(self) -> bool:
        """Significant after the report's multiple-comparison correction."""
        return self.p_adjusted < ALPHA

    def why_unknown(self) -> str:
        """The one line a '?' stands for."""
        return f"{self.differing} differing {self.unit}s cannot reach p < {ALPHA}"


@dataclass(frozen=True)
class _Row:
    """What a task or group row is built from: point, bootstrap draws, units, permutation draws, differing units."""

    point: float
    draws: np.ndarray
    n: int
    permuted: np.ndarray | None = None
    differing: int | None = None


def _paired(items: list[Mapping[Any, Any]]) -> list[list]:
    ids = sorted(set.intersection(*(set(i) for i in items)), key=lambda d: (str(type(d)), d))
    return [[m[i] for i in ids] for m in items]


def _group_rows(rows: Mapping[str, _Row], groups: Mapping[str, list[str]]) -> dict[str, _Row]:
    """Group rows (mean of member tasks' points and draws; units summed) where every member is present."""
    out = {}
    for group, members in groups.items():
        if members and all(m in rows for m in members):
            parts = [rows[m] for m in members]
            permuted = [p.permuted for p in parts if p.permuted is not None]
            counted = [p.differing for p in parts if p.differing is not None]
            out[group] = _Row(
                float(np.mean([p.point for p in parts])),
                np.mean([p.draws for p in parts], axis=0),
                sum(p.n for p in parts),
                np.mean(permuted, axis=0) if len(permuted) == len(parts) else None,
                sum(counted) if len(counted) == len(parts) else None,
            )
    return out


def _group_estimate(row: _Row) -> Estimate:
    low, high = percentile_interval(row.draws, row.n)
    return Estimate(row.point, float(np.std(row.draws, ddof=1)), low, high, row.n)


def _group_delta(row: _Row) -> Delta:
    """A group's delta: percentile interval, permutation p from the members' swaps (normal theory when a member's
    reference is a fixed score)."""
    low, high = percentile_interval(row.draws, row.n)
    se = float(np.std(row.draws, ddof=1))
    if row.permuted is not None:
        p, p_drop, error = group_p(row.point, [row.permuted])
        test = f"permutation ({len(row.permuted)} Monte Carlo draws)"
    else:
        p, p_drop, error = _normal_p(row.point, se), _normal_drop(row.point, se), 0.0
        test = "normal theory"
    return Delta(
        row.point, low, high, se, row.n, p, p, p_drop, row.differing, error, "percentile bootstrap", test,
        detectable_difference(se, row.n, binary=False), "unit",
    )  # fmt: skip


def _paired_t(differences: np.ndarray) -> tuple[float, float]:
    """Student's 95% interval of a mean of per-unit differences, in [-1, 1]: on simulated paired unit means it
    covers 0.94-0.96 from n = 9, where the bootstrap-t of the same differences gave 0.93 (docs/log.md)."""
    n = len(differences)
    mean = float(differences.mean())
    if n < 2:
        return -1.0, 1.0
    half = float(student_t.ppf(0.975, n - 1) * differences.std(ddof=1) / math.sqrt(n))
    return max(mean - half, -1.0), min(mean + half, 1.0)


def _normal_p(delta: float, se: float) -> float:
    return float(2 * norm.sf(abs(delta) / se)) if se > 0 else float(delta == 0)


def _normal_drop(delta: float, se: float) -> float:
    return float(norm.cdf(delta / se)) if se > 0 else float(delta >= 0)


def model_estimates(table: UnitTable, draws: np.ndarray, iterations: int, seed: int) -> list[Estimate]:
    """Each model's task score: Wilson on 0/1 units, bootstrap-t on unit means, expanded percentile otherwise."""
    point, n, values = table.point(), table.n_units, table.values()
    if table.binary() and values is not None:
        bounds = [wilson(int(v.sum()), n) for v in values]
        method = "Wilson"
    elif values is not None:
        bounds = [tuple(b) for b in studentised_intervals(table, values, iterations, seed, (0.0, 1.0))]
        method = "bootstrap-t"
    else:
        bounds = [percentile_interval(d, n) for d in draws]
        method = "percentile bootstrap"
    return [
        Estimate(float(point[i]), float(np.std(draws[i], ddof=1)), float(lo), float(hi), n, table.unit, method)
        for i, (lo, hi) in enumerate(bounds)
    ]


def task_delta(
    table: UnitTable, draws: np.ndarray, i: int, j: int, iterations: int, seed: int, permutations: int = PERMUTATIONS
) -> tuple[Delta, _Row]:
    """Model i − model j on one task: the interval and test its score calls for, and its row for groups."""
    point, n, values = table.point(), table.n_units, table.values()
    delta, diff_draws = float(point[i] - point[j]), draws[i] - draws[j]
    se = float(np.std(diff_draws, ddof=1))
    binary = table.binary()
    perm = permutation_test(table, i, j, seed, permutations, exact_allowed=not binary)
    if binary and values is not None:
        counts = PairedCounts.of(values[i], values[j])
        (low, high), (p, p_drop) = newcombe(counts), mcnemar(counts)
        interval, test, error = "Newcombe", "exact McNemar", 0.0
    else:
        if values is not None:
            low, high = _paired_t(values[i] - values[j])
            interval = "paired t"
        else:
            low, high = percentile_interval(diff_draws, n)
            interval = "percentile bootstrap"
        p, p_drop, error = perm.p, perm.p_drop, perm.p_error
        test = "exact permutation" if perm.exact else f"permutation ({len(perm.draws)} Monte Carlo draws)"
    result = Delta(
        delta, float(low), float(high), se, n, p, p, p_drop, perm.differing, error, interval, test,
        detectable_difference(se, n, binary), table.unit,
    )  # fmt: skip
    return result, _Row(delta, diff_draws, n, perm.draws, perm.differing)


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
    estimates: dict[str, dict[str, Estimate]] = {m: {} for m in models}
    model_rows: dict[str, dict[str, _Row]] = {m: {} for m in models}
    deltas: dict[tuple[str, str], dict[str, Delta]] = {pair: {} for pair in pairs}
    pair_rows: dict[tuple[str, str], dict[str, _Row]] = {pair: {} for pair in pairs}
    for task in sorted(set.intersection(*(set(items[m]) for m in models))):
        table = unit_table(task, _paired([items[m][task] for m in models]), aggregation(task))
        draws = resample(table, iterations, seed)
        for i, (m, estimate) in enumerate(zip(models, model_estimates(table, draws, iterations, seed))):
            estimates[m][task] = estimate
            model_rows[m][task] = _Row(estimate.value, draws[i], table.n_units)
        for a, b in pairs:
            deltas[(a, b)][task], pair_rows[(a, b)][task] = task_delta(
                table, draws, models.index(a), models.index(b), iterations, seed
            )
    for m in models:
        estimates[m] |= {g: _group_estimate(row) for g, row in _group_rows(model_rows[m], groups).items()}
    for pair in pairs:
        deltas[pair] |= {g: _group_delta(row) for g, row in _group_rows(pair_rows[pair], groups).items()}
    return estimates, deltas


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


def _against_fixed(
    table: UnitTable, reference: float, iterations: int, seed: int, lower_is_better: bool = False
) -> tuple[Delta, _Row]:
    """The candidate against a fixed score (a baseline file without samples): only the candidate's noise counts.
    0/1 units: Wilson and the exact binomial test; unit means: bootstrap-t and Student's t; else percentile and
    normal theory. With `lower_is_better` the delta is oriented (reference − candidate), so "drop" means worse;
    the continuous tests' one-sided p then mirror (p_drop of the mirror is 1 − p_drop)."""
    point, n, values = float(table.point()[0]), table.n_units, table.values()
    draws = resample(table, iterations, seed)[0]
    delta, se = point - reference, float(np.std(draws, ddof=1))
    if table.binary() and values is not None:
        low, high = wilson(int(values[0].sum()), n)
        p, p_drop = one_sample_binomial(int(values[0].sum()), n, reference)
        interval, test = "Wilson", "exact binomial"
    elif values is not None:
        low, high = studentised_intervals(table, values, iterations, seed, (0.0, 1.0))[0]
        t_se = float(values[0].std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
        t_value = delta / t_se if t_se > 0 else math.copysign(math.inf, delta) if delta else 0.0
        p = float(2 * student_t.sf(abs(t_value), max(n - 1, 1)))
        p_drop = float(student_t.cdf(t_value, max(n - 1, 1)))
        interval, test = "bootstrap-t", "Student's t"
    else:
        low, high = percentile_interval(draws, n)
        p, p_drop = _normal_p(delta, se), _normal_drop(delta, se)
        interval, test = "percentile bootstrap", "normal theory"
    low, high = float(low) - reference, float(high) - reference
    if lower_is_better:
        if table.binary():
            raise ValueError(f"{table.task}: a 0/1 score cannot be lower-is-better")
        delta, low, high, p_drop, draws = -delta, -high, -low, 1.0 - p_drop, 2 * reference - draws
    result = Delta(
        delta, low, high, se, n, p, p, p_drop, None, 0.0, interval, test, detectable_difference(se, n, table.binary()),
        table.unit,
    )  # fmt: skip
    return result, _Row(delta, draws - reference, n)


def paired_comparison(
    candidate: Items,
    reference: Mapping[str, Mapping[Any, Any] | float],
    groups: Mapping[str, list[str]],
    iterations: int = 1000,
    seed: int = 0,
    aggregation: Aggregation = score_aggregation,
    lower_is_better: frozenset[str] = frozenset(),
) -> dict[str, Delta]:
    """candidate − reference per task and group, or reference − candidate for the tasks in `lower_is_better` (and
    so their groups): a negative delta is always "worse". A reference given as a plain score (a baseline file
    without samples) is held fixed, so the interval then reflects the candidate's noise only."""
    deltas, rows = {}, {}
    for task in sorted(set(candidate) & set(reference)):
        ref = reference[task]
        if isinstance(ref, (int, float)):
            table = unit_table(task, [list(candidate[task].values())], aggregation(task))
            deltas[task], rows[task] = _against_fixed(table, float(ref), iterations, seed, task in lower_is_better)
        else:
            table = unit_table(task, _paired([candidate[task], ref]), aggregation(task))
            draws = resample(table, iterations, seed)
            first, second = (1, 0) if task in lower_is_better else (0, 1)
            deltas[task], rows[task] = task_delta(table, draws, first, second, iterations, seed)
    return deltas | {g: _group_delta(row) for g, row in _group_rows(rows, groups).items()}


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
