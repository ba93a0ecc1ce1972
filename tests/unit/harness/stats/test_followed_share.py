"""IFEval's instruction-level accuracy resampled by prompt: a ratio of sums (followed, instructions) per prompt."""

import itertools

import numpy as np
import pytest

from harness.stats.bootstrap import resample
from harness.stats.task_statistics import FollowedShare, unit_table
from tasks_ru import ifeval
from tasks_ru.suites import metric_aggregation

PROMPTS = [[True, False, True], [False], [True, True], [True], [False, False]]  # 9 instructions in 5 prompts


@pytest.mark.parametrize("metric", ["inst_level_strict_acc", "inst_level_loose_acc"])
def test_instruction_level_metrics_aggregate_as_followed_over_instructions(metric):
    assert metric_aggregation("ru_ifeval", metric) is ifeval.followed_share
    assert metric_aggregation("en_ifeval", "prompt_level_strict_acc")([True, False]) == 0.5


def test_the_prompt_is_the_unit_and_the_point_is_the_reported_share():
    table = unit_table("ru_ifeval", [PROMPTS], ifeval.followed_share)
    assert FollowedShare.unit_mean is False  # a ratio of sums, not a mean of one value per unit
    assert (table.unit, table.n_units, table.n_docs) == ("prompt", 5, 5)
    assert table.point()[0] == pytest.approx(5 / 9)
    assert table.values() is None
    # every draw is the ratio of the followed and asked totals of whole drawn prompts
    totals = {
        tuple(table.features[0][list(d)].sum(axis=0)) for d in itertools.combinations_with_replacement(range(5), 5)
    }
    possible = np.asarray([f / n for f, n in totals])
    draws = resample(table, 200, seed=1)[0]
    assert np.abs(draws[:, None] - possible[None, :]).min(axis=1).max() < 1e-12
