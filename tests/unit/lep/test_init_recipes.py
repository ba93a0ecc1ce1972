"""The init recipes' weights over a new token's old pieces, against ruadapt 8ac3d2d's formula worked by hand."""

import math

import pytest

from lep.init_recipes import WEIGHTS, first, is_whitespace, mean, wmean


def test_mean_is_the_papers_equal_weights():
    assert mean(["при", "вет"]) == [0.5, 0.5]


def test_wmean_decays_from_the_first_piece_and_shrinks_whitespace_before_normalising():
    e = math.exp(-1)
    assert wmean(["при", "вет", "ствие"]) == pytest.approx([w / (1 + e + e * e) for w in (1, e, e * e)])
    raw = [0.1, e, e * e]  # the leading "Ġ" alone: 0.1 x 1
    assert wmean(["Ġ", "при", "вет"]) == pytest.approx([w / sum(raw) for w in raw])
    assert wmean(["Ġ"]) == [1.0]  # one piece: a copy, no penalty


def test_first_takes_the_first_piece_that_is_not_only_a_space():
    assert first(["при", "вет"]) == [1.0, 0.0]
    assert first(["▁", "при", "вет"]) == [0.0, 1.0, 0.0]
    assert first(["Ġ", " "]) == [1.0, 0.0]  # nothing but spaces: the first


@pytest.mark.parametrize("recipe", sorted(WEIGHTS))
def test_every_recipe_sums_to_one(recipe):
    assert sum(WEIGHTS[recipe](["Ġ", "а", "б", "в"])) == pytest.approx(1.0)


def test_whitespace_in_both_vocabulary_styles():
    assert is_whitespace("Ġ") and is_whitespace("▁▁") and is_whitespace(" ")
    assert not is_whitespace("Ġп") and not is_whitespace("▁в")
