"""The ratio interval covers a known ratio 95% of the time on lognormal timing noise, also when the stopping rule
decides how many trials it gets; the rule runs the minimum, then whole rotations until the target or the cap."""

import math

import numpy as np
import pytest

from harness.speed.precision import keep_going, ratio_interval
from harness.speed.settings import SpeedSettings

TRUE_RATIO = 1.1


def test_the_interval_is_the_geometric_mean_with_a_relative_half_width():
    interval = ratio_interval([1.0, 1.21, 1.1, 1.1])
    assert interval.ratio == pytest.approx(1.1, rel=1e-3)
    assert interval.high / interval.ratio - 1 == pytest.approx(interval.precision)
    assert interval.ratio / interval.low - 1 == pytest.approx(interval.precision)
    assert ratio_interval([2.0] * 5).precision == 0.0  # no noise, no width


def test_the_interval_covers_a_known_ratio_95_percent_of_the_time_at_the_fewest_trials():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        interval = ratio_interval(rng.lognormal(math.log(TRUE_RATIO), 0.1, size=5))
        hits += interval.low <= TRUE_RATIO <= interval.high
    assert 0.935 <= hits / 2000 <= 0.965


def _sequential(rng: np.random.Generator, noise: float, settings: SpeedSettings) -> tuple[int, bool, bool]:
    """One simulated speed run of two models, a round costing one second: (trials, target met, ratio covered)."""
    ratios = list(rng.lognormal(math.log(TRUE_RATIO), noise, size=1))
    widest = math.inf
    while keep_going(len(ratios), 2, len(ratios), 1.0, widest, settings):
        ratios.append(rng.lognormal(math.log(TRUE_RATIO), noise))
        widest = ratio_interval(ratios).precision
    interval = ratio_interval(ratios)
    return len(ratios), widest <= settings.precision, interval.low <= TRUE_RATIO <= interval.high


def test_trials_run_on_until_the_target_and_the_interval_still_covers_about_95_percent():
    # noise of 5% per trial: the fewest trials give about ±5%, ±3% takes about a dozen
    rng = np.random.default_rng(1)
    settings = SpeedSettings(precision=0.03, max_seconds=10_000)
    runs = [_sequential(rng, 0.05, settings) for _ in range(300)]
    assert all(met for _, met, _ in runs)
    assert all(n >= 6 and n % 2 == 0 for n, _, _ in runs)  # at least 5, in whole rotations of two models
    assert 8 <= np.mean([n for n, _, _ in runs]) <= 20
    # stopping when the interval first looks narrow costs a little coverage (Chow-Robbins), not much
    assert 0.90 <= np.mean([covered for _, _, covered in runs]) <= 0.97


def test_a_noisy_run_stops_at_the_time_cap_short_of_the_target():
    settings = SpeedSettings(precision=0.03, max_seconds=30)
    n, met, _ = _sequential(np.random.default_rng(2), 0.5, settings)
    assert not met
    assert n <= 30


@pytest.mark.parametrize(
    "kept, cycle, elapsed, widest, expected, why",
    [
        (3, 2, 1e6, 0.0, True, "below the minimum, whatever the time and precision"),
        (5, 2, 1e6, 0.0, True, "a rotation is finished first"),
        (6, 2, 10.0, 0.01, False, "every interval within the target"),
        (6, 2, 10.0, 0.05, True, "too wide, and two more rounds end within the cap"),
        (6, 2, 99.0, 0.05, False, "too wide, but two more rounds would end past the cap"),
        (6, 3, 10.0, 0.05, True, "three models: a rotation is three rounds"),
        (7, 3, 10.0, 0.01, True, "three models: the rotation is finished first"),
    ],
)
def test_the_stopping_rule(kept, cycle, elapsed, widest, expected, why):
    settings = SpeedSettings(trials=5, precision=0.03, max_seconds=100)
    assert keep_going(kept, cycle, elapsed, 10.0, widest, settings) is expected, why


def test_a_cap_of_0_runs_exactly_the_minimum():
    assert not keep_going(6, 2, 0.0, 0.0, 0.5, SpeedSettings(max_seconds=0))  # even on a clock that did not move
