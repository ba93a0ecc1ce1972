"""How often lep-bench's 95% intervals hold the truth, on simulated data with a known answer.

Two simulations, both through the same functions `lep-bench compare` and `gate` use:
- `coverage_cell`: n resampling units (9 to 1,000), 0/1 or continuous scores, items within a unit correlated
  (ICC 0, 0.1, 0.3): the one-model interval (Wilson / bootstrap-t) and the paired difference's (Newcombe /
  bootstrap-t) against the true mean and difference (harness/stats/simulate.py: clustered_pair).
- `case_coverage`: whole tasks with their real aggregations (binary items, PARus both orders, USE variants).
benchmarks/small_n_coverage.py prints the table; tests/unit/harness/stats keeps a small version of it.
"""

from dataclasses import dataclass

import numpy as np

from harness.stats.bootstrap import resample
from harness.stats.estimates import model_estimates, paired_comparison, task_delta
from harness.stats.simulate import Case, clustered_pair, continuous_truth
from harness.stats.task_statistics import UnitTable

SIZES = (9, 12, 20, 30, 100, 1000)
ICCS = (0.0, 0.1, 0.3)
BINARY_BASE, BINARY_DELTA = 0.6, 0.05
PERMUTATIONS = 100  # the test is not what is measured here; a few swap draws keep the simulation fast


@dataclass(frozen=True)
class CoverageCell:
    """Coverage of the one-model and the paired 95% interval in one (n, ICC, score type) cell."""

    n: int
    icc: float
    binary: bool
    sets: int
    single: float
    paired: float
    single_width: float
    paired_width: float
    single_method: str
    paired_method: str


def _unit_table(candidate: np.ndarray, reference: np.ndarray) -> UnitTable:
    """Two models' item scores (units × items) as a unit-mean table: each unit's value is its items' mean."""
    values = np.stack([candidate.mean(axis=1), reference.mean(axis=1)])
    features = np.stack([values, np.ones_like(values)], axis=-1)
    units = values.shape[1]
    return UnitTable(
        "simulated", "cluster", features, np.zeros(units, dtype=int), lambda s: s[..., 0] / s[..., 1],
        candidate.size, unit_mean=True,
    )  # fmt: skip


def coverage_cell(n: int, icc: float, binary: bool, sets: int, iterations: int, seed: int = 0) -> CoverageCell:
    """Share of `sets` simulated data sets whose intervals hold the truth, and the intervals' mean widths."""
    rng = np.random.default_rng([seed, n, int(icc * 100), binary])
    truth_single, truth_delta = (BINARY_BASE, BINARY_DELTA) if binary else continuous_truth()
    single_hits = paired_hits = 0
    single_widths, paired_widths = [], []
    single_method = paired_method = ""
    for k in range(sets):
        table = _unit_table(*clustered_pair(n, icc, binary, BINARY_DELTA, rng, BINARY_BASE))
        draws = resample(table, iterations, k)
        reference = model_estimates(table, draws, iterations, k)[1]
        delta, _ = task_delta(table, draws, 0, 1, iterations, k, PERMUTATIONS)
        single_hits += reference.low <= truth_single <= reference.high
        paired_hits += delta.low <= truth_delta <= delta.high
        single_widths.append(reference.high - reference.low)
        paired_widths.append(delta.high - delta.low)
        single_method, paired_method = reference.method, delta.interval
    return CoverageCell(
        n, icc, binary, sets, single_hits / sets, paired_hits / sets,
        float(np.mean(single_widths)), float(np.mean(paired_widths)), single_method, paired_method,
    )  # fmt: skip


def case_coverage(case: Case, sets: int, iterations: int, seed: int = 0) -> tuple[float, float]:
    """(share of 95% intervals that hold the true difference, mean interval width) over `sets` data sets of a
    whole simulated task, through `paired_comparison` as the gate calls it."""
    rng = np.random.default_rng(seed)
    hits, widths = 0, []
    for k in range(sets):
        cand, ref = case.make(rng)
        d = paired_comparison(cand, ref, {}, iterations=iterations, seed=k, aggregation=lambda _: case.aggregation)
        hits += d["t"].low <= case.truth <= d["t"].high
        widths.append(d["t"].high - d["t"].low)
    return hits / sets, float(np.mean(widths))
