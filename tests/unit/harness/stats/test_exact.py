"""Wilson, Newcombe and exact McNemar against what they must equal: scipy, brute-force sign flips, symmetry."""

from itertools import product

import numpy as np
import pytest

from harness.stats.exact import PairedCounts, mcnemar, newcombe, one_sample_binomial, smallest_p, wilson


def test_mcnemar_is_the_sign_flip_test_on_0_1_differences():
    rng = np.random.default_rng(3)
    for _ in range(20):
        candidate, reference = rng.random(11) < 0.5, rng.random(11) < 0.6
        differences = candidate.astype(int) - reference.astype(int)
        observed = differences.sum()
        flips = np.asarray(list(product((-1, 1), repeat=len(differences))))
        permuted = flips @ np.abs(differences)
        two, drop = mcnemar(PairedCounts.of(candidate, reference))
        assert two == pytest.approx(np.mean(np.abs(permuted) >= abs(observed)))
        assert drop == pytest.approx(np.mean(permuted <= observed))


def test_newcombe_is_antisymmetric_and_holds_the_point():
    table = PairedCounts(both=20, candidate_only=7, reference_only=2, neither=11)
    low, high = newcombe(table)
    mirrored = newcombe(PairedCounts(20, 2, 7, 11))
    assert low < table.delta < high
    assert (low, high) == pytest.approx((-mirrored[1], -mirrored[0]))


def test_all_nine_lost_excludes_zero_and_needs_six_discordant_to_be_callable():
    lost = PairedCounts(both=0, candidate_only=0, reference_only=9, neither=0)
    assert newcombe(lost)[1] < 0
    assert mcnemar(lost) == pytest.approx((2 / 512, 1 / 512))
    assert smallest_p(5) >= 0.05 > smallest_p(6)


def test_wilson_and_the_fixed_reference_test():
    low, high = wilson(0, 9)
    assert low == 0 and 0.29 < high < 0.3  # 0/9: the rule of three's neighbour, not a zero-width interval
    two, drop = one_sample_binomial(0, 9, 0.8)
    assert drop == pytest.approx(0.2**9)
    assert two <= 2 * drop + 1e-12
