"""`lep-bench speed` on HF with two tiny models: exact output lengths, interleaved trials, spreads and ratios,
its report section, and a finished run reused."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

import harness.speed.measure as speed
from harness.demo.small_models import build_small_model
from harness.report.figures import speed_figure
from harness.report.tables import speed_section
from harness.run.model_spec import parse_spec
from harness.speed.measure import measure_speed
from harness.speed.settings import SpeedSettings
from harness.speed.summary import speed_table

FAST = SpeedSettings(new_tokens=4, trials=5, warmup=1, batch=2, prompts=1, max_seconds=0)  # the fewest trials


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, reference_tokenizer) -> list[Path]:
    folder = tmp_path_factory.mktemp("speed")
    tokenizer = reference_tokenizer("openchat-3.5")
    return [
        build_small_model(tokenizer, folder / "a", architecture="mistral"),
        build_small_model(tokenizer, folder / "b", architecture="mistral", hidden_size=128, seed=1),
    ]


@pytest.fixture(scope="module")
def record(two_models, tmp_path_factory) -> dict:
    specs = [parse_spec(f"path={p},name={p.name}") for p in two_models]
    return json.loads(
        (
            measure_speed(specs, FAST, tmp_path_factory.mktemp("runs"), progress=lambda _: None) / "speed.json"
        ).read_text()
    )


def test_an_interleaved_hf_run_records_exact_lengths_spreads_and_ratios(record):
    assert record["order"] == [
        ["a", "b"],
        ["b", "a"],
        ["a", "b"],
        ["b", "a"],
        ["a", "b"],
        ["b", "a"],
        ["a", "b"],
    ]  # rotating, warm-up first, then 5 trials rounded up to whole rotations
    assert record["stopping"]["trials"] == 6
    assert record["stopping"]["seconds"] > 0
    for name in ("a", "b"):
        rounds = record["trials"][name]
        assert len(rounds) == 6  # the warm-up round is not kept
        assert all(
            r["latency"][lang]["tokens"] == 4 and r["throughput"][lang]["tokens"] == 8
            for r in rounds
            for lang in ("ru", "en")
        )
        cell = record["summary"][name]["latency/ru"]["decode_tokens_per_s"]
        assert cell["n"] == 6
        assert cell["q1"] <= cell["median"] <= cell["q3"]
        assert cell["median"] > 0
        assert record["chars_per_token"][name]["ru"] > 1
    assert set(record["ratios"]) == {"b"}
    ratio = record["ratios"]["b"]["latency/ru"]["chars_per_s"]
    assert ratio["median"] > 0
    assert ratio["low"] <= ratio["ratio"] <= ratio["high"]
    assert record["machine"]["torch_threads"] >= 1
    assert len(record["machine"]["load_before"]) == 3
    assert len(speed_table(record)) == 4


def test_the_report_shows_the_speed_run_with_its_method(record):
    section = speed_section(record, {})
    assert "exactly 4 tokens per request" in section["how"]
    assert "interleaved" in section["how"]
    assert list(section["table"]["model"]) == ["a", "a", "b", "b"]
    assert section["table"]["× ref RU chars/s"].iloc[0] == "ref"
    assert "±" in section["table"]["× ref RU chars/s"].iloc[2]
    assert "6 trials in" in section["how"]
    assert speed_figure(record).startswith(b"\x89PNG")
    assert speed_section(None, {})["table"] is None
    assert "not measured" in speed_section(None, {})["how"]


def test_a_finished_speed_run_is_reused_and_a_changed_setting_is_not(two_models, tmp_path, monkeypatch):
    specs = [parse_spec(f"path={two_models[0]},name=a")]
    first = measure_speed(specs, FAST, tmp_path, progress=lambda _: None)

    def no_engine(*_):
        raise AssertionError("a reused run must not load an engine")

    monkeypatch.setattr(speed, "open_engine", no_engine)
    assert measure_speed(specs, FAST, tmp_path, progress=lambda _: None) == first
    for changed in (replace(FAST, new_tokens=5), replace(FAST, precision=0.05), replace(FAST, max_seconds=60)):
        with pytest.raises(AssertionError, match="must not load"):
            measure_speed(specs, changed, tmp_path, progress=lambda _: None)
