"""Closed-form small-sample statistics for 0/1 scores: Wilson intervals, Newcombe's paired difference interval
and the exact McNemar test. Bootstrap and normal-theory intervals undercover below a few hundred items (Bowyer et
al. 2025; harness/stats/coverage.py measures ours); these keep their coverage at any n.

scipy has Wilson (`binomtest(...).proportion_ci`) and the exact binomial test that McNemar's exact test is; it
has no paired interval for a difference of proportions, so Newcombe's is written here (a dozen lines).
"""

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, norm

Z95 = float(norm.ppf(0.975))


def wilson(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (scipy's)."""
    if n == 0:
        return 0.0, 1.0
    ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class PairedCounts:
    """The 2×2 table of two models on the same 0/1 units: both right, only the candidate, only the reference,
    neither."""

    both: int
    candidate_only: int
    reference_only: int
    neither: int

    @classmethod
    def of(cls, candidate: np.ndarray, reference: np.ndarray) -> "PairedCounts":
        c, r = candidate.astype(bool), reference.astype(bool)
        return cls(int((c & r).sum()), int((c & ~r).sum()), int((~c & r).sum()), int((~c & ~r).sum()))

    @property
    def n(self) -> int:
        return self.both + self.candidate_only + self.reference_only + self.neither

    @property
    def discordant(self) -> int:
        return self.candidate_only + self.reference_only

    @property
    def delta(self) -> float:
        return (self.candidate_only - self.reference_only) / self.n if self.n else 0.0


def newcombe(t: PairedCounts) -> tuple[float, float]:
    """95% interval of candidate − reference on paired 0/1 units: Newcombe (1998) method 10, the Wilson limits
    of each proportion combined with the continuity-corrected phi of the 2×2 table."""
    n = t.n
    if n == 0:
        return -1.0, 1.0
    p1, p2 = (t.both + t.candidate_only) / n, (t.both + t.reference_only) / n
    l1, u1 = wilson(t.both + t.candidate_only, n)
    l2, u2 = wilson(t.both + t.reference_only, n)
    a, b, c, d = t.both, t.candidate_only, t.reference_only, t.neither
    spread = (a + b) * (c + d) * (a + c) * (b + d)
    cross = float(a * d - b * c)
    if cross > 0:
        cross = max(cross - n / 2, 0.0)
    phi = cross / np.sqrt(spread) if spread > 0 else 0.0
    below = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    above = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    delta = p1 - p2
    return float(max(delta - np.sqrt(max(below, 0.0)), -1.0)), float(min(delta + np.sqrt(max(above, 0.0)), 1.0))


def mcnemar(t: PairedCounts) -> tuple[float, float]:
    """Exact McNemar test: (two-sided p, one-sided p of "the candidate is worse"), the binomial test of the
    candidate's share of the discordant units against 1/2 (what a sign-flip permutation test gives on 0/1)."""
    k = t.discordant
    if k == 0:
        return 1.0, 1.0
    two = binomtest(t.candidate_only, k, 0.5).pvalue
    drop = binomtest(t.candidate_only, k, 0.5, alternative="less").pvalue
    return float(two), float(drop)


def smallest_p(differing: int) -> float:
    """The smallest two-sided p a paired permutation test can give when `differing` units differ: every unit
    the same way, 2 / 2^k (1 when none differ)."""
    return 1.0 if differing == 0 else min(1.0, 2.0 ** (1 - differing))


def one_sample_binomial(successes: int, n: int, reference: float) -> tuple[float, float]:
    """(two-sided p, one-sided p of "below the reference") of n 0/1 units against a fixed reference score."""
    if n == 0:
        return 1.0, 1.0
    p0 = min(max(reference, 0.0), 1.0)
    return (
        float(binomtest(successes, n, p0).pvalue),
        float(binomtest(successes, n, p0, alternative="less").pvalue),
    )
