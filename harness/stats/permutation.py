"""Paired permutation test by the task's resampling unit, valid at every n: under "the two models are
exchangeable", swapping their statistics within any unit leaves the data as likely, so the observed difference
is compared with its value under every swap pattern. For a mean over units this is the sign-flip test on the
per-unit differences; it works as well for non-linear scores (macro-F1, MCC, corpus chrF++), where the swapped
unit statistics are re-summed and re-scored.

Exact by enumeration when at most EXACT_UNITS units differ, Monte Carlo beyond (seeded, with the Monte Carlo
error of its p-value). scipy.stats.permutation_test re-evaluates a Python statistic per permutation and knows
no clustered or multi-column units; here a batch of swap patterns is one matrix product.
"""

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from harness.stats.exact import Z95, smallest_p
from harness.stats.task_statistics import UnitTable

EXACT_UNITS = 16  # 2^16 swap patterns, enumerated in a few milliseconds
PERMUTATIONS = 4000  # Monte Carlo draws beyond: p-value error ±0.007 at p = 0.05
BATCH = 1000
TIES = 1e-12  # a permuted difference this close to the observed one counts as "as extreme"


@dataclass(frozen=True)
class PermutationTest:
    """Two-sided p, one-sided p of a drop (candidate worse), the swap draws (for groups) and how p was got."""

    p: float
    p_drop: float
    differing: int  # units where the two models' statistics differ: only these can be swapped
    exact: bool
    p_error: float  # 95% Monte Carlo error of p (0 when exact)
    draws: np.ndarray  # (PERMUTATIONS,) permuted differences, random patterns even when p is exact

    @property
    def smallest_p(self) -> float:
        return smallest_p(self.differing)


def _permuted(
    table: UnitTable, candidate: int, reference: int, swaps: Iterable[np.ndarray], diff: np.ndarray
) -> np.ndarray:
    """Candidate − reference scores under each swap pattern (batches of 0/1 rows over the differing units)."""
    totals = table.features.sum(axis=1)
    out = []
    for batch in swaps:
        moved = batch @ diff  # what each pattern moves from the candidate to the reference
        out.append(table.score(totals[candidate] - moved) - table.score(totals[reference] + moved))
    return np.concatenate(out) if out else np.zeros(0)


def _all_patterns(units: int) -> Iterator[np.ndarray]:
    """Every swap pattern over `units` units, in batches."""
    for start in range(0, 2**units, BATCH):
        codes = np.arange(start, min(start + BATCH, 2**units))
        yield ((codes[:, None] >> np.arange(units)) & 1).astype(float)


def _random_patterns(units: int, count: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    for start in range(0, count, BATCH):
        yield rng.integers(0, 2, (min(BATCH, count - start), units), dtype=np.int8).astype(float)


def _p_values(observed: float, permuted: np.ndarray, monte_carlo: bool) -> tuple[float, float]:
    """(two-sided, one-sided drop) p; Monte Carlo p counts the observed data as one draw (never 0)."""
    extra = 1 if monte_carlo else 0
    as_extreme = np.count_nonzero(np.abs(permuted) >= abs(observed) - TIES)
    as_low = np.count_nonzero(permuted <= observed + TIES)
    total = len(permuted) + extra
    return float(min(1.0, (as_extreme + extra) / total)), float(min(1.0, (as_low + extra) / total))


def permutation_test(
    table: UnitTable,
    candidate: int,
    reference: int,
    seed: int,
    permutations: int = PERMUTATIONS,
    exact_allowed: bool = True,
) -> PermutationTest:
    """The paired permutation test of model `candidate` against model `reference` of the table (its random swap
    draws only, for groups, when `exact_allowed` is False: 0/1 units have the exact McNemar test instead)."""
    features = table.features.astype(float)
    diff_all = features[candidate] - features[reference]
    differing = np.flatnonzero(np.any(diff_all != 0, axis=1))
    diff = diff_all[differing]
    observed = float(table.score(features[candidate].sum(axis=0)) - table.score(features[reference].sum(axis=0)))
    rng = np.random.default_rng([seed, zlib.crc32(table.task.encode()), candidate, reference])
    draws = _permuted(table, candidate, reference, _random_patterns(len(differing), permutations, rng), diff)
    if exact_allowed and len(differing) <= EXACT_UNITS:
        every = _permuted(table, candidate, reference, _all_patterns(len(differing)), diff)
        p, p_drop = _p_values(observed, every, monte_carlo=False)
        return PermutationTest(p, p_drop, len(differing), True, 0.0, draws)
    p, p_drop = _p_values(observed, draws, monte_carlo=True)
    error = Z95 * np.sqrt(p * (1 - p) / permutations)
    return PermutationTest(p, p_drop, len(differing), False, float(error), draws)


def group_p(observed: float, member_draws: list[np.ndarray]) -> tuple[float, float, float]:
    """(two-sided p, one-sided drop p, Monte Carlo error) of a group's mean difference: the members' swap
    patterns are independent, so the group's permuted difference is the mean of its members' draws."""
    draws = np.mean(member_draws, axis=0)
    p, p_drop = _p_values(observed, draws, monte_carlo=True)
    return p, p_drop, float(Z95 * np.sqrt(p * (1 - p) / len(draws)))
