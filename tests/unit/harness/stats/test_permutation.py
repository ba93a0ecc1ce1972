"""The permutation test: exact p equals brute force, Monte Carlo p within its stated error, size at the null."""

from itertools import product

import numpy as np
import pytest

from harness.stats import permutation
from harness.stats.permutation import permutation_test
from harness.stats.power import detectable_difference
from harness.stats.task_statistics import UnitTable


def _table(candidate: np.ndarray, reference: np.ndarray) -> UnitTable:
    values = np.stack([candidate, reference])
    return UnitTable(
        "sim", "document", np.stack([values, np.ones_like(values)], -1), np.zeros(len(candidate), int),
        lambda s: s[..., 0] / s[..., 1], len(candidate), unit_mean=True,
    )  # fmt: skip


def test_exact_p_is_the_share_of_sign_flips_as_extreme():
    rng = np.random.default_rng(1)
    candidate, reference = rng.random(10), rng.random(10)
    result = permutation_test(_table(candidate, reference), 0, 1, seed=0)
    differences = candidate - reference
    means = np.asarray(list(product((-1, 1), repeat=10))) @ differences / 10
    assert result.exact
    assert result.p == pytest.approx(np.mean(np.abs(means) >= abs(differences.mean()) - 1e-12))
    assert result.p_drop == pytest.approx(np.mean(means <= differences.mean() + 1e-12))


def test_monte_carlo_p_is_within_its_error_of_the_exact_one(monkeypatch):
    rng = np.random.default_rng(2)
    table = _table(rng.random(14) + 0.15, rng.random(14))
    exact = permutation_test(table, 0, 1, seed=0)
    monkeypatch.setattr(permutation, "EXACT_UNITS", 5)
    sampled = permutation_test(table, 0, 1, seed=0)
    assert not sampled.exact and sampled.p_error > 0
    assert abs(sampled.p - exact.p) <= sampled.p_error + 1 / permutation.PERMUTATIONS


def test_the_test_rejects_about_five_percent_under_the_null_and_80_at_the_detectable_difference():
    rng = np.random.default_rng(4)
    n, sd, sets = 30, 0.2, 300
    null_rejections = power_rejections = 0
    shift = detectable_difference(sd / np.sqrt(n), n, binary=False)
    for k in range(sets):
        reference = rng.random(n)
        noise = rng.normal(0, sd, n)
        null_rejections += permutation_test(_table(reference + noise, reference), 0, 1, k, 400).p < 0.05
        power_rejections += permutation_test(_table(reference + noise + shift, reference), 0, 1, k, 400).p < 0.05
    assert 0.02 <= null_rejections / sets <= 0.08
    assert 0.72 <= power_rejections / sets <= 0.88
