"""How precisely a speed ratio is known, and when to stop measuring it: a 95% interval on the geometric mean of
the per-trial ratios (each trial measures both models back to back), and the rule that adds trials until every
ratio's interval is within the target or the time cap would be passed."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from harness.speed.settings import SpeedSettings

CONFIDENCE = 0.95


@dataclass(frozen=True)
class RatioInterval:
    ratio: float  # geometric mean of the per-trial ratios
    low: float
    high: float
    precision: float  # the interval's relative half-width: high / ratio - 1 (= ratio / low - 1)


def ratio_interval(ratios: Sequence[float]) -> RatioInterval:
    """Student's t on the mean log-ratio: exact for lognormal timing noise at 5 trials, where a bootstrap's
    interval comes out too narrow."""
    logs = np.log(np.asarray(ratios, dtype=float))
    mean = float(logs.mean())
    half = float(student_t.ppf(0.5 + CONFIDENCE / 2, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs)))
    return RatioInterval(math.exp(mean), math.exp(mean - half), math.exp(mean + half), math.expm1(half))


def keep_going(
    kept: int, cycle: int, elapsed: float, round_seconds: float, widest: float, settings: SpeedSettings
) -> bool:
    """Whether to measure another round: up to the minimum, then in whole rotations of the models' order (each model
    at each place equally often, so an effect of the place cancels in the ratios), while some ratio's interval is
    wider than the target and the next rotation would end within the time cap."""
    if kept < settings.trials or kept % cycle:
        return True
    return widest > settings.precision and elapsed + cycle * round_seconds < settings.max_seconds
