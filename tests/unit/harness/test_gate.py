"""The regression gate: its rule, its verdicts on runs and baselines, and `lep-bench gate` on the command line."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.gate import baseline_json, decide, gate, gate_runs
from harness.stats.estimates import Delta
from lep.errors import InputError
from tests.support.cli import run_cli
from tests.support.synthetic_runs import set_items, write_run

GATED_TASKS = ["ru_open_rubq", "ru_open_terra"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A run of 12 items a task with every RuBQ answer right (the demo task set's sizes)."""
    run_dir = write_run(tmp_path_factory.mktemp("runs"), "tiny", "ru-open", 0.0, seed=1, n=12, tasks=GATED_TASKS)
    return set_items(run_dir, "ru_open_rubq", [1.0] * 12)


def copy_run(src: Path, dst: Path, edit: Callable[[Path, dict], None] | None = None) -> Path:
    """A copy of a run dir, its summary edited in place."""
    shutil.copytree(src, dst)
    summary = json.loads((dst / "summary.json").read_text())
    if edit:
        edit(dst, summary)
    (dst / "summary.json").write_text(json.dumps(summary))
    return dst


def all_wrong(run_dir: Path, summary: dict, task: str = "ru_open_rubq") -> None:
    """A regression: every item of `task` scores 0 (samples and summary), with a hostile output."""
    path = run_dir / "samples" / f"{task}.jsonl"
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    for sample in samples:
        sample["score"] = 0.0
        sample["filtered_resps"] = ["<script>alert(1)</script><img src=x onerror=alert(2)>"]
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    summary["tasks"][task] = 0.0


def test_an_identical_run_passes(finished_run, tmp_path, capsys):
    same = copy_run(finished_run, tmp_path / "same")
    verdict = tmp_path / "v.json"
    args = ["gate", "--baseline", finished_run, "--candidate", same, "--json", verdict, "--iterations", "200"]
    status, _, err = run_cli(args, capsys)
    assert status == 0, err
    assert json.loads(verdict.read_text())["passed"] is True


def test_an_injected_regression_fails_on_its_task_and_group(finished_run, tmp_path, capsys):
    worse = copy_run(finished_run, tmp_path / "worse", all_wrong)
    verdict = tmp_path / "w.json"
    args = ["gate", "--baseline", finished_run, "--candidate", worse, "--json", verdict, "--iterations", "200"]
    status, _, err = run_cli(args, capsys)
    assert status == 1
    assert "ru_open_rubq: dropped 1.0000 > 0.01, significant (exact McNemar" in err
    written = json.loads(verdict.read_text())
    assert written["passed"] is False
    assert {row["row"] for row in written["rows"] if row["failed"]} == {"ru_open_rubq", "Knowledge"}


def test_a_baseline_given_as_a_summary_json_gates_too(finished_run, tmp_path, capsys):
    worse = copy_run(finished_run, tmp_path / "worse", all_wrong)
    args = ["gate", "--baseline", finished_run / "summary.json", "--candidate", worse, "--iterations", "200"]
    assert run_cli(args, capsys)[0] == 1


def test_tasks_limit_the_gate_to_the_rows_named(finished_run, tmp_path, capsys):
    worse = copy_run(finished_run, tmp_path / "worse", all_wrong)
    args = ["gate", "--baseline", finished_run, "--candidate", worse, "--tasks", "ru_open_terra", "--iterations", "200"]
    assert run_cli(args, capsys)[0] == 0


@pytest.mark.parametrize(("name", "by", "status"), [("up", 0.02, 1), ("down", -0.02, 1), ("tiny", 0.005, 0)])
def test_any_change_fails_on_a_move_beyond_tolerance_either_way(finished_run, tmp_path, capsys, name, by, status):
    """Deterministic runs (the demo): a move beyond the tolerance fails, up or down, with no interval."""

    def nudge(run_dir: Path, summary: dict) -> None:
        summary["tasks"]["ru_open_terra"] += by

    moved = copy_run(finished_run, tmp_path / name, nudge)
    args = ["gate", "--baseline", finished_run, "--candidate", moved, "--any-change", "--max-drop", "0.01"]
    assert run_cli(args, capsys)[0] == status


@pytest.mark.parametrize(
    "args, message",
    [
        (["--baseline", "/nonexistent/run"], "is not a lep-bench run dir or summary JSON"),
        (["--baseline", "{run}", "--max-drop", "lots"], "invalid float value"),
        (["--baseline", "{run}", "--tasks", "ru_open_nope"], "--tasks ru_open_nope: not in the baseline"),
        (["--baseline", "{run}", "--json", "{run}"], "is a directory, not a file"),
    ],
)
def test_usage_errors_exit_2_with_one_line(finished_run, capsys, args, message):
    args = [a.replace("{run}", str(finished_run)) for a in args]
    status, _, err = run_cli(["gate", *args, "--candidate", finished_run, "--iterations", "50"], capsys)
    assert status == 2
    assert message in err


def _copy_task_runs(tmp_path, base: list[float], cand: list[float]):
    task = "ru_open_copy_para_ru"
    n = len(base)
    baseline = set_items(write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, n=n, tasks=[task]), task, base)
    candidate = set_items(write_run(tmp_path / "b", "m", "ru-open", 0.0, seed=1, n=n, tasks=[task]), task, cand)
    return baseline, candidate, task


def test_nine_of_nine_lost_fails_on_its_exact_p(tmp_path, capsys):
    """9/9 -> 0/9: nine discordant items all one way, one-sided exact p = 1/512 (was a point-drop fallback)."""
    baseline, candidate, task = _copy_task_runs(tmp_path, [1.0] * 9, [0.0] * 9)
    row = next(r for r in gate(baseline, candidate, iterations=200).rows if r.row == task)
    assert row.failed
    assert "significant (exact McNemar" in row.reason
    assert row.p_drop is not None and 1 / 512 <= row.p_drop < 0.05  # 1/512 raw, Holm over task, group and total
    status, _, err = run_cli(["gate", "--baseline", baseline, "--candidate", candidate], capsys)
    assert status == 1
    assert "dropped 1.0000 > 0.01, significant (exact McNemar" in err


def test_a_drop_no_test_could_call_fails_on_its_point_drop(tmp_path):
    """4 of 20 items lost: 4 discordant items cannot reach p < 0.05, so the drop is not waved through."""
    baseline, candidate, task = _copy_task_runs(tmp_path, [1.0] * 4 + [0.0] * 16, [0.0] * 20)
    row = next(r for r in gate(baseline, candidate, iterations=200).rows if r.row == task)
    assert row.delta == pytest.approx(-0.2)
    assert row.failed
    assert "4 differing documents cannot reach p < 0.05" in row.reason


def test_a_drop_a_test_could_call_but_does_not_passes_as_noise(tmp_path):
    """20 items, the candidate loses 6 and gains 2: 8 discordant items, one-sided exact p = 37/256 = 0.145."""
    baseline, candidate, task = _copy_task_runs(
        tmp_path, [1.0] * 12 + [0.0] * 8, [0.0] * 6 + [1.0] * 6 + [1.0, 1.0] + [0.0] * 6
    )
    row = next(r for r in gate(baseline, candidate, iterations=200).rows if r.row == task)
    assert row.delta == pytest.approx(-0.2)
    assert not row.failed
    assert "within noise" in row.reason


def test_the_rule_needs_a_significant_drop_beyond_tolerance():
    rows = {
        "big significant": Delta(-0.05, -0.08, -0.02, n=300, p_drop=1e-4, differing=60),
        "big noisy": Delta(-0.05, -0.2, 0.1, n=300, p_drop=0.3, differing=60),
        "small significant": Delta(-0.005, -0.008, -0.002, n=300, p_drop=1e-4, differing=60),
        "gain": Delta(0.05, 0.02, 0.08, n=300, p_drop=1.0, differing=60),
    }
    verdicts = decide(rows, max_drop=0.01)
    assert [name for name, (failed, _, _) in verdicts.items() if failed] == ["big significant"]
    assert "within noise" in verdicts["big noisy"][2]


def test_missing_rows_fail(tmp_path):
    baseline = write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, tasks=GATED_TASKS)
    partial = write_run(tmp_path / "b", "m", "ru-open", 0.0, seed=1, tasks=GATED_TASKS[1:])
    result = gate(baseline, partial, iterations=100)
    assert not result.passed
    missing = {r.row for r in result.rows if r.reason == "missing from the candidate run"}
    assert missing == {"ru_open_rubq", "Knowledge"}


def test_an_empty_baseline_is_refused(tmp_path):
    baseline = write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, tasks=GATED_TASKS)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"models": {}}))
    with pytest.raises(InputError, match="an empty baseline gates nothing"):
        gate(empty, baseline, iterations=100)


def test_a_model_missing_from_either_side_fails(tmp_path):
    baseline = write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, tasks=GATED_TASKS)
    other = tmp_path / "other.json"
    someone = json.loads((baseline / "summary.json").read_text())
    other.write_text(json.dumps(baseline_json([baseline]) | {"models": {"someone": someone}}))
    assert "has no entry for model m" in gate(other, baseline, iterations=100).problems[0]
    results = gate_runs(other, [baseline], max_drop=0.01, iterations=100)
    assert not all(r.passed for r in results)
    assert any("baseline model someone has no run" in p for r in results for p in r.problems)


def test_tokenizer_figures_are_gated(tmp_path):
    run_dir = write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, n=40, tasks=["ru_open_terra"])
    file = tmp_path / "baseline.json"
    baseline = baseline_json([run_dir])
    file.write_text(json.dumps(baseline))
    assert gate(file, run_dir, any_change=True).passed
    baseline["models"]["m"]["tokenizer"]["ru chars/token"] *= 1.001
    file.write_text(json.dumps(baseline))
    changed = gate(file, run_dir, any_change=True)
    assert not changed.passed
    assert "tokenizer ru chars/token changed" in changed.problems[0]
    del baseline["models"]["m"]["tokenizer"]  # an older baseline file: loads, says it cannot gate the tokenizer
    file.write_text(json.dumps(baseline))
    older = gate(file, run_dir, any_change=True)
    assert older.passed
    assert "tokenizer not gated" in older.notes[0]
    # figures measured on another lep-bench's sample text: not compared, and the note says to rewrite
    baseline = baseline_json([run_dir])
    baseline["models"]["m"]["tokenizer"]["ru chars/token"] *= 1.1
    baseline["models"]["m"]["tokenizer_text"] = "0" * 64
    file.write_text(json.dumps(baseline))
    other_text = gate(file, run_dir, any_change=True)
    assert other_text.passed and "on other text" in other_text.notes[0] and "--write-baseline" in other_text.notes[0]


@pytest.mark.parametrize("as_summary", [False, True], ids=["run-dir", "summary-json"])
def test_where_lower_is_better_a_rise_fails_and_a_fall_passes(tmp_path, as_summary):
    def run(name: str, skill: float) -> Path:
        return write_run(tmp_path / name, "tiny", "likelihood", skill, seed=3, n=150)

    baseline = run("base", 0.0)
    reference = baseline / "summary.json" if as_summary else baseline
    worse, better = (
        gate(reference, run("worse", -2.0), iterations=300),
        gate(reference, run("better", 2.0), iterations=300),
    )
    assert not worse.passed and better.passed
    rows = {row.row: row for row in worse.rows}
    assert rows["bits_per_char_ru"].candidate > rows["bits_per_char_ru"].baseline
    assert rows["bits_per_char_ru"].delta > 0.1  # shown as candidate − baseline, in bits/char
    assert rows["bits_per_char_ru"].low < rows["bits_per_char_ru"].delta < rows["bits_per_char_ru"].high
    assert "rose" in rows["bits_per_char_ru"].reason and rows["Bits/char"].failed and rows["Mean"].failed
    assert all(row.delta < 0 and not row.failed for row in better.rows)
    only_group = [
        gate(reference, tmp_path / name / "tiny" / "likelihood" / "synthetic", tasks=["Bits/char"])
        for name in ("worse", "better")
    ]
    assert [result.passed for result in only_group] == [False, True]  # the group's tasks are oriented too
