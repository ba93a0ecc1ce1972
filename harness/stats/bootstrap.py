"""Bootstrap draws by each task's resampling unit, and the two bootstrap intervals lep-bench uses.

Each task is resampled by its aggregation's unit (harness/stats/task_statistics.py: PARus item, USE variant,
MMLU within subject, else document). One draw is a count vector over units, shared by every model of
a comparison (the pairing), and every model's score follows from one matrix product of the counts
with the unit statistics, so 13 models × 17 tasks × 1,000 draws take seconds (benchmarks/bootstrap_speed.py).

- Scores that are a mean over units with values in [0, 1] get the studentised (bootstrap-t) interval, whose
  coverage holds at small n where percentiles undercover (harness/stats/coverage.py measures both).
- Other scores (macro-F1, MCC, corpus chrF++, MMLU's category mean) and group means get the expanded
  percentile interval (the tails widened for the unit count n, Hesterberg 2015; nearly plain percentiles
  beyond n ≈ 100).

scipy.stats.bootstrap does not fit: it has no stratified or cluster draws and computes BCa's
jackknife by re-evaluating the statistic n times (O(n²) on the 14k-item MMLU tasks).
"""

import zlib
from collections.abc import Iterator

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

from harness.stats.task_statistics import UnitTable

BATCH = 250  # draws per matrix product (bounds memory on the 14k-item tasks)


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


def count_batches(table: UnitTable, iterations: int, seed: int) -> Iterator[np.ndarray]:
    """The task's draws as batches of count vectors; the same seed gives the same draws (the pairing)."""
    rng = np.random.default_rng([seed, zlib.crc32(table.task.encode())])
    for start in range(0, iterations, BATCH):
        yield draw_counts(table.strata, min(BATCH, iterations - start), rng)


def resample(table: UnitTable, iterations: int, seed: int) -> np.ndarray:
    """(M, iterations) each model's task score in each draw (the same draws for every model)."""
    models, units, width = table.features.shape
    flat = table.features.transpose(1, 0, 2).reshape(units, models * width).astype(np.float32)
    out = np.empty((models, iterations))
    start = 0
    for counts in count_batches(table, iterations, seed):
        stats = (counts @ flat).reshape(len(counts), models, width).transpose(1, 0, 2)
        out[:, start : start + len(counts)] = table.score(stats.astype(float))
        start += len(counts)
    return out


def _tail(n: int) -> float:
    """Percent in each tail of the expanded percentile interval (Hesterberg 2015): the bootstrap
    spread is too narrow by sqrt((n−1)/n) and normal instead of t, which undercovers at small n."""
    return 100 * float(norm.sf(np.sqrt(n / (n - 1)) * student_t.ppf(0.975, n - 1))) if n > 2 else 2.5


def percentile_interval(draws: np.ndarray, n: int) -> tuple[float, float]:
    """The expanded 95% percentile interval of bootstrap draws over n units."""
    tail = _tail(n)
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def studentised_intervals(
    table: UnitTable, values: np.ndarray, iterations: int, seed: int, bounds: tuple[float, float]
) -> np.ndarray:
    """(K, 2) bootstrap-t 95% intervals of the means of K rows of per-unit values (a model's unit scores, or a
    pair's per-unit differences) on the table's draws, clipped to `bounds`.

    Each draw is studentised by its own standard error, so the interval follows the skew of a mean near 0
    or 1 that percentiles miss; a draw with no spread (every drawn unit equal) counts as t = 0 when its mean
    is the observed one and as ±inf otherwise."""
    n = values.shape[1]
    point = values.mean(axis=1)
    se = values.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(values))
    flat = np.concatenate([values, values**2]).T.astype(np.float64)
    t_stats = []
    for counts in count_batches(table, iterations, seed):
        moments = counts.astype(np.float64) @ flat / n
        mean, square = moments[:, : len(values)], moments[:, len(values) :]
        draw_se = np.sqrt(np.maximum(square - mean**2, 0.0) * n / max(n - 1, 1) / n)
        gap = mean - point
        flat_draw = draw_se <= 1e-12
        t = np.divide(gap, draw_se, out=np.zeros_like(gap), where=~flat_draw)
        moved = flat_draw & (np.abs(gap) > 1e-12)
        t[moved] = np.inf * np.sign(gap[moved])
        t_stats.append(t)
    t_all = np.concatenate(t_stats)
    upper_t = np.quantile(t_all, 0.975, axis=0, method="higher")
    lower_t = np.quantile(t_all, 0.025, axis=0, method="lower")
    low = np.where(se > 0, point - upper_t * se, point)
    high = np.where(se > 0, point - lower_t * se, point)
    return np.clip(np.stack([low, high], axis=1), *bounds)
