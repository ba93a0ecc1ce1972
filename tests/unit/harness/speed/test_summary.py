"""Speed summaries: medians and IQRs, ratios taken within each trial with their interval, a ratio short of the
target said so; bad settings refused before any model loads."""

import pytest

from harness.run.model_spec import parse_spec
from harness.speed.engines import Measurement
from harness.speed.measure import measure_speed
from harness.speed.settings import SpeedSettings
from harness.speed.summary import speed_table, summarise
from lep.errors import InputError


def _m(decode_tokens_per_s: float) -> Measurement:
    return Measurement(tokens=10, seconds=10 / decode_tokens_per_s, ttft_s=0.1, tpot_s=1 / decode_tokens_per_s)


def test_summaries_are_medians_and_ratios_are_taken_within_each_trial():
    # the machine slows down trial by trial; the candidate is always exactly twice as fast within a trial
    ref_speeds, cand_speeds = [10, 20, 30, 40, 50], [20, 40, 60, 80, 100]
    trials = {
        name: [{regime: {lang: _m(v) for lang in ("ru", "en")} for regime in ("latency", "throughput")} for v in values]
        for name, values in (("ref", ref_speeds), ("cand", cand_speeds))
    }
    chars = {"ref": {"ru": 1.0, "en": 4.0}, "cand": {"ru": 3.0, "en": 4.0}}
    out = summarise(trials, chars, "ref", target=0.03)
    cell = out["summary"]["ref"]["latency/ru"]["decode_tokens_per_s"]
    assert (cell["median"], cell["q1"], cell["q3"]) == pytest.approx((30, 20, 40))
    ratio = out["ratios"]["cand"]["latency/ru"]
    assert ratio["decode_tokens_per_s"]["median"] == pytest.approx(2.0)
    assert ratio["decode_tokens_per_s"]["q3"] == pytest.approx(2.0)
    assert ratio["chars_per_s"]["median"] == pytest.approx(6.0)  # 2x the tokens/s, 3x the characters per token
    assert (ratio["decode_tokens_per_s"]["low"], ratio["decode_tokens_per_s"]["high"]) == pytest.approx((2.0, 2.0))
    assert ratio["decode_tokens_per_s"]["precision"] == pytest.approx(0.0, abs=1e-12)
    assert any("ref latency ru" in w for w in out["warnings"])  # 10..50 tok/s is far above 5% variation
    assert not any("target" in w for w in out["warnings"])


def test_a_ratio_short_of_the_target_is_shown_and_warned_about():
    ref, cand = [10, 10, 10, 10, 10], [10, 12, 9, 11, 10]  # the candidate's ratio varies by about 10%
    trials = {
        name: [{regime: {lang: _m(v) for lang in ("ru", "en")} for regime in ("latency", "throughput")} for v in values]
        for name, values in (("ref", ref), ("cand", cand))
    }
    chars = {"ref": {"ru": 1.0, "en": 1.0}, "cand": {"ru": 1.0, "en": 1.0}}
    record = summarise(trials, chars, "ref", target=0.03) | {
        "settings": {"precision": 0.03, "batch": 2},
        "chars_per_token": chars,
    }
    assert record["ratios"]["cand"]["latency/ru"]["decode_tokens_per_s"]["precision"] > 0.03
    assert sum("short of the ±3.0% target" in w for w in record["warnings"]) == 4  # each regime and language
    table = speed_table(record)
    assert table["× ref RU decode tok/s"].iloc[0] == "ref"
    assert table["× ref RU decode tok/s"].iloc[2].endswith("(target not met)")
    assert table["× ref EN decode tok/s"].iloc[2].startswith("1.0")


@pytest.mark.parametrize(
    "settings, problem",
    [
        (SpeedSettings(trials=3), "trials=3: must be greater than or equal to 5"),
        (SpeedSettings(precision=0.9), "precision=0.9: must be less than or equal to 0.5"),
        (SpeedSettings(max_seconds=-1), "max_seconds=-1: must be greater than or equal to 0"),
        (SpeedSettings(new_tokens=1), "new_tokens=1"),
        (SpeedSettings(batch=0), "batch=0"),
        (SpeedSettings(backend="vllm"), "backend='vllm': must be 'hf' or 'vllm-server'"),  # type: ignore[arg-type]
    ],
)
def test_bad_settings_are_refused_before_any_model_loads(settings, problem, tmp_path):
    with pytest.raises(InputError, match=problem):
        measure_speed([parse_spec(str(tmp_path))], settings, tmp_path)
