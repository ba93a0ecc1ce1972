"""The verdict, the report's first section: significant gains and losses in the right direction, the detectable
change for the rest, tokens saved, and a report that leads with it."""

import dataclasses

import pytest

from harness.report.comparison import build_comparison
from harness.report.report import write_report
from harness.report.verdict import verdicts
from tests.support.synthetic_runs import write_run


def test_a_stronger_and_a_weaker_candidate_are_told_apart(tmp_path):
    tasks = ["ru_open_rucola", "ru_open_terra", "ru_open_xwinograd"]
    runs = [
        (write_run(tmp_path / "runs", "original", "ru-open", 0.0, seed=1, n=150, tasks=tasks), "reference"),
        (write_run(tmp_path / "runs", "stronger", "ru-open", 2.5, seed=2, n=150, tasks=tasks), "candidate"),
        (write_run(tmp_path / "runs", "weaker", "ru-open", -2.5, seed=3, n=150, tasks=tasks), "candidate"),
        (write_run(tmp_path / "runs", "same", "ru-open", 0.0, seed=4, n=150, tasks=tasks), "candidate"),
        (write_run(tmp_path / "runs", "copy", "ru-open", 0.0, seed=1, n=150, tasks=tasks), "candidate"),
    ]
    comparison = build_comparison("t", runs, iterations=200)
    found = {v.model: v for v in verdicts(comparison)}
    assert set(found) == {"stronger", "weaker", "same", "copy"}
    assert found["copy"].identical == tasks and not found["copy"].undetected
    assert {c.row for c in found["stronger"].better} >= set(tasks) and not found["stronger"].worse
    assert {c.row for c in found["weaker"].worse} >= set(tasks) and not found["weaker"].better
    assert all(c.delta < 0 and c.high < 0 and c.p_adjusted < 0.05 for c in found["weaker"].worse)
    same = found["same"]
    assert not same.better and not same.worse
    assert {row for row, _ in same.undetected} == set(tasks)  # tasks only: the group restates them
    assert all(0 < size < 1 for _, size in same.undetected)
    assert same.ru_tokens == 1.0 and same.en_tokens == 1.0  # one tokenizer for all
    assert same.ru_speed is None and "speed not measured" in same.lines()
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "speed.png").write_bytes(b"an earlier report's figure")
    markdown = (write_report(comparison, tmp_path / "report").parent / "report.md").read_text()
    assert not (tmp_path / "report" / "speed.png").exists()  # left out now, so not left lying beside the report
    sections = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert sections[0] == "## Verdict: each candidate against original"
    assert "- worse: ru_open_rucola -" in markdown
    assert "- quality vs efficiency: left out, every model reads Russian in the same tokens" in markdown


def test_where_lower_is_better_a_fall_is_a_gain(tmp_path):
    runs = [
        (write_run(tmp_path / "runs", "original", "likelihood", 0.0, seed=1, n=80), "reference"),
        (write_run(tmp_path / "runs", "adapted", "likelihood", 2.0, seed=2, n=80, tokenizer="llama-3"), "candidate"),
    ]
    comparison = build_comparison("t", runs, iterations=100)
    (verdict,) = verdicts(comparison)
    assert verdict.ru_tokens is not None and verdict.ru_tokens > 1  # LLaMa-3 reads Russian in fewer tokens
    write_report(comparison, tmp_path / "report")
    assert (tmp_path / "report" / "quality_vs_efficiency.png").stat().st_size > 10_000
    assert {c.row for c in verdict.better} >= {"bits_per_char_ru", "bits_per_char_en"}
    assert all(c.delta < 0 for c in verdict.better) and not verdict.worse


@pytest.mark.parametrize("n", [1, 4])
def test_a_task_too_small_to_detect_any_change_is_named_so(tmp_path, n):
    tasks = ["ru_open_xwinograd"]
    runs = [
        (write_run(tmp_path / "runs", "original", "ru-open", 0.0, seed=1, n=n, tasks=tasks), "reference"),
        (write_run(tmp_path / "runs", "adapted", "ru-open", 0.0, seed=6, n=n, tasks=tasks), "candidate"),
    ]
    (verdict,) = verdicts(build_comparison("t", runs, iterations=100))
    assert verdict.hopeless == tasks and not verdict.undetected
    assert "too few items to detect any change: ru_open_xwinograd" in verdict.lines()


def test_speed_is_named_against_the_model_the_speed_run_measured_it_against(tmp_path):
    runs = [
        (write_run(tmp_path / "runs", "original", "ru-open", 0.0, seed=1, n=20), "reference"),
        (write_run(tmp_path / "runs", "adapted", "ru-open", 0.0, seed=2, n=20), "candidate"),
    ]
    comparison = build_comparison("t", runs, iterations=50)
    cell = {"latency/ru": {"chars_per_s": {"ratio": 2.5, "low": 2.4, "high": 2.6}}}
    for speed_reference, against in (("original", "the reference's"), ("baseline-7b", "baseline-7b's")):
        record = {"reference": speed_reference, "ratios": {"adapted": cell}}
        (verdict,) = verdicts(dataclasses.replace(comparison, speed=record))
        assert f"Russian chars/s 2.50 [2.40, 2.60] x {against} (batch 1)" in verdict.lines()
