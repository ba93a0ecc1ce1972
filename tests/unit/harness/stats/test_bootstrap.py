"""The paired bootstrap: known differences found, equal models not, fixed references, interval coverage."""

import pytest

from harness.stats.bootstrap import paired_bootstrap
from harness.stats.simulate import cases, coverage

MEAN = lambda task: lambda items: sum(items) / len(items)  # noqa: E731
IDS = range(200)
BETTER = {"t": {i: 1.0 if i % 10 < 8 else 0.0 for i in IDS}}  # 0.8
WORSE = {"t": {i: 1.0 if i % 10 < 5 else 0.0 for i in IDS}}  # 0.5


def test_a_known_difference_is_found_with_its_interval():
    found = paired_bootstrap(BETTER, WORSE, {"all": ["t"]}, iterations=500, seed=1, aggregation=MEAN)["t"]
    assert found.delta == pytest.approx(0.3)
    assert found.significant
    assert found.low > 0.2


def test_a_model_against_itself_differs_by_nothing():
    same = paired_bootstrap(BETTER, BETTER, {"all": ["t"]}, iterations=500, seed=1, aggregation=MEAN)["t"]
    assert same.delta == 0
    assert not same.significant


def test_equal_means_on_different_items_are_not_significant():
    noisy = {"t": {i: float((i * 7919) % 2) for i in IDS}}
    shuffled = {"t": {i: float(((i + 1) * 7919) % 2) for i in IDS}}  # same mean, different items
    assert not paired_bootstrap(noisy, shuffled, {}, iterations=500, seed=1, aggregation=MEAN)["t"].significant


def test_a_reference_given_as_a_plain_score_is_held_fixed():
    fixed = paired_bootstrap(BETTER, {"t": 0.5}, {}, iterations=500, seed=1, aggregation=MEAN)["t"]
    assert fixed.delta == pytest.approx(0.3)
    assert fixed.significant


@pytest.mark.parametrize("case", cases(small=True), ids=lambda c: c.name)
def test_95_percent_intervals_cover_the_true_difference(case):
    """300 simulated paired data sets per case (benchmarks/bootstrap_coverage.py runs 1,000+ and more sizes)."""
    share, _ = coverage(case, sets=300, iterations=400, seed=11)
    assert 0.915 <= share <= 0.985, share
