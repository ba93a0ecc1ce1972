import numpy as np

from harness.adapt_check.readings import Scored
from harness.adapt_check.summary import _interval, _ratio_of_sums, exact_interval, sentence_gaps


def test_gap_is_the_new_tokens_log_p_minus_its_pieces_chain_rule():
    # "При этом": original reads "При"(3) " э"(5) "том"(8); adapted reads "При"(3) and new " этом"(8)
    original = Scored(ids=[10, 11, 12], ends=[3, 5, 8], log_probs=[-1.0, -2.0, -0.5])
    adapted = Scored(ids=[10, 99], ends=[3, 8], log_probs=[-1.0, -3.0])
    gaps, total = sentence_gaps(adapted, original, frozenset({99}))
    assert total == 1
    assert gaps == [-3.0 - (-2.0 - 0.5)]


def test_a_new_token_whose_span_the_original_cuts_inside_is_counted_but_not_compared():
    original = Scored(ids=[1, 2], ends=[2, 6], log_probs=[-1.0, -1.0])
    adapted = Scored(ids=[98, 99], ends=[4, 6], log_probs=[-1.0, -1.0])  # ends at 4: inside the original's 2..6
    gaps, total = sentence_gaps(adapted, original, frozenset({98, 99}))
    assert (gaps, total) == ([], 2)


def test_bits_per_char_interval_covers_the_true_ratio_at_the_nominal_rate():
    """Sentences of varying length whose bits per character vary by sentence; the truth is 1.5 bits/char."""
    rng = np.random.default_rng(1)
    covered, runs, n = 0, 300, 100
    for _ in range(runs):
        chars = rng.integers(40, 260, n).astype(float)
        bits = chars * (1.5 + rng.normal(0, 0.4, n))
        draws = rng.integers(0, n, (1000, n))
        low, high = _interval(_ratio_of_sums(bits, chars, draws), n)
        covered += low <= 1.5 <= high
    assert 0.91 <= covered / runs <= 0.99


def test_exact_interval_is_clopper_pearson():
    low, high = exact_interval(0, 100)
    assert low == 0.0 and abs(high - 0.0362) < 1e-3  # the rule of three's exact form
