"""The smallest difference a comparison could have detected: what a "no significant change" is worth."""

import math

from scipy.stats import t as student_t

POWER = 0.8
ALPHA = 0.05
# the fewest 0/1 units that must differ, all one way, for an exact paired test to reach p < ALPHA: 2 / 2^k < ALPHA
FEWEST_DIFFERING = math.ceil(math.log2(2 / ALPHA))


def detectable_difference(se: float, n: int, binary: bool) -> float:
    """The true difference detected with 80% power by a two-sided test at ALPHA, from the observed standard error
    of the paired difference: (t_{1−α/2} + t_{power}) × SE with n − 1 degrees of freedom. On 0/1 units it is
    never below FEWEST_DIFFERING / n, the smallest difference an exact test can call significant at all.
    NaN where the data show no variation to scale from (and no floor applies)."""
    if n < 2:
        return math.nan
    floor = FEWEST_DIFFERING / n if binary else 0.0
    if se <= 0:
        return min(floor, 1.0) if binary else math.nan
    factor = float(student_t.ppf(1 - ALPHA / 2, n - 1) + student_t.ppf(POWER, n - 1))
    return max(factor * se, floor)
