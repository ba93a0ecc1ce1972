"""Paired comparisons: known differences found, equal models not, fixed references, 9/9 -> 0/9 called, coverage."""

import pytest

from harness.stats.coverage import case_coverage, coverage_cell
from harness.stats.estimates import paired_comparison
from harness.stats.simulate import cases

MEAN = lambda task: lambda items: sum(items) / len(items)  # noqa: E731
IDS = range(200)
BETTER = {"t": {i: 1.0 if i % 10 < 8 else 0.0 for i in IDS}}  # 0.8
WORSE = {"t": {i: 1.0 if i % 10 < 5 else 0.0 for i in IDS}}  # 0.5


def test_a_known_difference_is_found_with_its_interval():
    found = paired_comparison(BETTER, WORSE, {"all": ["t"]}, iterations=500, seed=1, aggregation=MEAN)["t"]
    assert found.delta == pytest.approx(0.3)
    assert found.significant
    assert found.low > 0.2


def test_a_model_against_itself_differs_by_nothing():
    same = paired_comparison(BETTER, BETTER, {"all": ["t"]}, iterations=500, seed=1, aggregation=MEAN)["t"]
    assert same.delta == 0
    assert not same.significant


def test_equal_means_on_different_items_are_not_significant():
    noisy = {"t": {i: float((i * 7919) % 2) for i in IDS}}
    shuffled = {"t": {i: float(((i + 1) * 7919) % 2) for i in IDS}}  # same mean, different items
    assert not paired_comparison(noisy, shuffled, {}, iterations=500, seed=1, aggregation=MEAN)["t"].significant


def test_a_reference_given_as_a_plain_score_is_held_fixed():
    fixed = paired_comparison(BETTER, {"t": 0.5}, {}, iterations=500, seed=1, aggregation=MEAN)["t"]
    assert fixed.delta == pytest.approx(0.3)
    assert fixed.significant


def test_nine_of_nine_lost_is_significant_and_four_cannot_be():
    lost_all, kept_all = {"t": dict.fromkeys(range(9), 0.0)}, {"t": dict.fromkeys(range(9), 1.0)}
    nine = paired_comparison(lost_all, kept_all, {}, aggregation=MEAN)
    assert nine["t"].p == pytest.approx(2 / 512) and nine["t"].test == "exact McNemar"
    assert nine["t"].high < 0 and nine["t"].reachable
    four = {"t": {i: float(i < 4) for i in range(9)}}
    lost = paired_comparison({"t": dict.fromkeys(range(9), 0.0)}, four, {}, aggregation=MEAN)["t"]
    assert not lost.reachable
    assert lost.why_unknown() == "4 differing documents cannot reach p < 0.05"


@pytest.mark.parametrize("case", cases(small=True), ids=lambda c: c.name)
def test_95_percent_intervals_cover_the_true_difference_on_whole_tasks(case):
    """300 simulated paired data sets per case (benchmarks/small_n_coverage.py runs 1,000 and more sizes)."""
    share, _ = case_coverage(case, sets=300, iterations=400, seed=11)
    assert 0.915 <= share <= 0.985, share


@pytest.mark.parametrize("binary", [True, False], ids=["0/1", "continuous"])
@pytest.mark.parametrize(("n", "icc"), [(9, 0.0), (12, 0.3), (30, 0.1)])
def test_small_n_intervals_cover_at_every_correlation(n, icc, binary):
    """The CI's slice of the coverage table: 300 sets per cell (a cell's own error is about ±0.025)."""
    cell = coverage_cell(n, icc, binary, sets=300, iterations=300, seed=5)
    assert 0.915 <= cell.single <= 0.99, cell
    assert 0.915 <= cell.paired <= 0.99, cell
