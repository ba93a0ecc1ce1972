"""Paired bootstrap, the comparison report (escaping, warnings) and the regression gate."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bootstrap import paired_bootstrap
from harness.compare import build_comparison
from harness.gate import baseline_json
from harness.report import write_report

MEAN = lambda task: lambda items: sum(items) / len(items)  # noqa: E731


def test_bootstrap_detects_a_known_difference_and_not_a_zero_one():
    ids = range(200)
    better = {"t": {i: 1.0 if i % 10 < 8 else 0.0 for i in ids}}  # 0.8
    worse = {"t": {i: 1.0 if i % 10 < 5 else 0.0 for i in ids}}  # 0.5
    found = paired_bootstrap(better, worse, {"all": ["t"]}, iterations=500, seed=1, aggregation=MEAN)
    assert found["t"].delta == pytest.approx(0.3) and found["t"].significant and found["t"].low > 0.2
    same = paired_bootstrap(better, better, {"all": ["t"]}, iterations=500, seed=1, aggregation=MEAN)
    assert same["t"].delta == 0 and not same["t"].significant
    noisy = {"t": {i: float((i * 7919) % 2) for i in ids}}
    shuffled = {"t": {i: float(((i + 1) * 7919) % 2) for i in ids}}  # same mean, different items
    assert not paired_bootstrap(noisy, shuffled, {}, iterations=500, seed=1, aggregation=MEAN)["t"].significant
    fixed = paired_bootstrap(better, {"t": 0.5}, {}, iterations=500, seed=1, aggregation=MEAN)
    assert fixed["t"].delta == pytest.approx(0.3) and fixed["t"].significant


def _copy_run(src: Path, dst: Path, model: str, edit=None) -> Path:
    shutil.copytree(src, dst)
    summary = json.loads((dst / "summary.json").read_text())
    summary["model"] = model
    if edit:
        edit(dst, summary)
    (dst / "summary.json").write_text(json.dumps(summary))
    return dst


def _inject(run_dir: Path, summary: dict, task: str = "ru_open_rubq") -> None:
    """A regression: every item of `task` scores 0 (samples and summary)."""
    path = run_dir / "samples" / f"{task}.jsonl"
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    for s in samples:
        s["score"] = 0.0
        s["filtered_resps"] = ["<script>alert(1)</script><img src=x onerror=alert(2)>"]
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    summary["tasks"][task] = 0.0


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, reference_tokenizer, demo_data) -> Path:
    """One real hf run of a tiny model with rubq answered perfectly (its samples rewritten), for gate tests."""
    from harness.backends import BackendSettings
    from harness.evaluation import PromptSettings
    from harness.model_spec import parse_spec
    from harness.runner import RunRequest, run
    from lep.small_models import build_small_model

    root = tmp_path_factory.mktemp("runs")
    model = build_small_model(reference_tokenizer("openchat-3.5"), root / "tiny", architecture="mistral")
    request = RunRequest(
        spec=parse_spec(f"path={model},kind=instruct"),
        suite="ru-open",
        tasks=("ru_open_rubq", "ru_open_terra"),
        out=root,
        data_dir=demo_data,
        backend=BackendSettings(),
        prompts=PromptSettings(limit=20),
    )
    run_dir = run(request, progress=lambda _: None)
    path = run_dir / "samples" / "ru_open_rubq.jsonl"
    samples = [json.loads(line) | {"score": 1.0} for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(s) + "\n" for s in samples))
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["tasks"]["ru_open_rubq"] = 1.0
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return run_dir


def _gate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "gate", *args], capture_output=True, text=True, timeout=300
    )


def test_gate_passes_on_an_identical_run_and_catches_an_injected_regression(finished_run, tmp_path):
    same = _copy_run(finished_run, tmp_path / "same", "tiny")
    result = _gate(
        "--baseline",
        str(finished_run),
        "--candidate",
        str(same),
        "--json",
        str(tmp_path / "v.json"),
        "--iterations",
        "200",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "v.json").read_text())["passed"] is True
    worse = _copy_run(finished_run, tmp_path / "worse", "tiny", _inject)
    result = _gate(
        "--baseline",
        str(finished_run),
        "--candidate",
        str(worse),
        "--json",
        str(tmp_path / "w.json"),
        "--iterations",
        "200",
    )
    assert (
        result.returncode == 1 and "ru_open_rubq: dropped 1.0000 > 0.01 on too few items (n=12 < 30)" in result.stderr
    )
    verdict = json.loads((tmp_path / "w.json").read_text())
    assert verdict["passed"] is False and {r["row"] for r in verdict["rows"] if r["failed"]} == {
        "ru_open_rubq",
        "Knowledge",
    }  # its group
    # a baseline given as a summary JSON (no samples) works too
    result = _gate("--baseline", str(finished_run / "summary.json"), "--candidate", str(worse), "--iterations", "200")
    assert result.returncode == 1
    result = _gate(
        "--baseline", str(finished_run), "--candidate", str(worse), "--tasks", "ru_open_terra", "--iterations", "200"
    )
    assert result.returncode == 0


def test_any_change_gate_fails_on_a_small_move_either_way(finished_run, tmp_path):
    """Deterministic runs (the demo): a move beyond the tolerance fails, up or down, with no interval."""

    def nudge(by: float):
        def edit(run_dir: Path, summary: dict) -> None:
            summary["tasks"]["ru_open_terra"] += by

        return edit

    for name, by, code in (("up", 0.02, 1), ("down", -0.02, 1), ("tiny", 0.005, 0)):
        moved = _copy_run(finished_run, tmp_path / name, "tiny", nudge(by))
        result = _gate("--baseline", str(finished_run), "--candidate", str(moved), "--any-change", "--max-drop", "0.01")
        assert result.returncode == code, (name, result.stdout, result.stderr)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--baseline", "/nonexistent/run"], "is not a lep-bench run dir or summary JSON"),
        (["--baseline", "{run}", "--max-drop", "lots"], "invalid float value"),
        (["--baseline", "{run}", "--tasks", "ru_open_nope"], "--tasks ru_open_nope: not in the baseline"),
    ],
)
def test_gate_usage_errors_exit_2(finished_run, args, message):
    args = [a.replace("{run}", str(finished_run)) for a in args]
    result = _gate(*args, "--candidate", str(finished_run), "--iterations", "50")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_report_escapes_model_output_and_warns_on_mixed_settings(finished_run, tmp_path):
    def other_backend(run_dir: Path, summary: dict) -> None:
        _inject(run_dir, summary)
        provenance = json.loads((run_dir / "provenance.json").read_text())
        provenance["settings"]["backend"]["backend"] = "vllm-server"
        (run_dir / "provenance.json").write_text(json.dumps(provenance))

    other = _copy_run(finished_run, tmp_path / "other", "other", other_backend)
    comparison = build_comparison("t", [(finished_run, "reference"), (other, "candidate")], iterations=100)
    assert any("runs differ in backend settings" in w for w in comparison.warnings)
    html = write_report(comparison, tmp_path / "report").read_text()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "data:image/png;base64," in html and "runs differ in backend settings" in html
    assert (tmp_path / "report" / "report.md").read_text().count("ru_open_rubq") >= 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("models: []\n", "models=[]: List should have at least 1 item"),
        ("models: [{name: a, path: m}]\ncolour: red\n", "unknown setting 'colour'"),
        ("models: [{name: a, path: m, role: judge}]\n", "role 'judge' of model a is not one of"),
        ("models: [{name: a}]\n", "model a: path is missing"),
        ("models: [{name: a, path: m, size: 7}]\n", "model a: unknown setting 'size'"),
        ("models: [{name: a, path: m}]\nsuites: [mmlu]\n", "suites.0='mmlu': must be"),
        ("models: [unclosed\n", "cannot be read"),
    ],
)
def test_a_bad_experiment_config_is_one_clear_error(tmp_path, text, message):
    config = tmp_path / "experiment.yaml"
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "compare", str(config)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_experiment_paths_resolve_against_the_config_folder(tmp_path):
    from harness.compare import load_experiment

    config = tmp_path / "sub" / "experiment.yaml"
    config.parent.mkdir()
    config.write_text("name: x\nmodels: [{name: a, path: ../m, tokenizer: openchat-3.5, role: reference}]\nruns: r\n")
    experiment = load_experiment(config)
    spec, role = experiment.models[0]
    assert spec.path == str((tmp_path / "m").resolve()) and spec.tokenizer == "openchat-3.5" and role == "reference"
    assert experiment.runs == (tmp_path / "sub" / "r").resolve()


# --- statistics and gate on synthetic runs (no model) ---------------------------------------------

from harness.bootstrap import MIN_UNITS, Delta  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.gate import decide, gate, gate_runs  # noqa: E402
from tests.simulated_pairs import cases, coverage  # noqa: E402
from tests.synthetic_runs import model_skills, set_items, write_run  # noqa: E402
from lep.errors import InputError  # noqa: E402


@pytest.mark.parametrize("case", cases(small=True), ids=lambda c: c.name)
def test_95_percent_intervals_cover_the_true_difference(case):
    """300 simulated paired data sets per case (benchmarks/bootstrap_coverage.py runs 1,000+ and more sizes)."""
    share, _ = coverage(case, sets=300, iterations=400, seed=11)
    assert 0.915 <= share <= 0.985, share


def _twenty_items(tmp_path: Path) -> tuple[Path, Path]:
    """The issue's case: 20 items, the candidate loses 6 and gains 2, a true-looking drop of 0.2."""
    task = "ru_open_copy_para_ru"
    base = [1.0] * 12 + [0.0] * 8
    cand = [0.0] * 6 + [1.0] * 6 + [1.0, 1.0] + [0.0] * 6
    baseline = set_items(write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, n=20, tasks=[task]), task, base)
    candidate = set_items(write_run(tmp_path / "b", "m", "ru-open", 0.0, seed=1, n=20, tasks=[task]), task, cand)
    return baseline, candidate


def test_a_drop_of_0_2_on_20_items_fails_the_gate(tmp_path, capsys):
    baseline, candidate = _twenty_items(tmp_path)
    result = gate(baseline, candidate, iterations=1000)
    row = next(r for r in result.rows if r.row == "ru_open_copy_para_ru")
    assert row.delta == pytest.approx(-0.2) and row.high > -0.01  # the old rule (upper end < -max_drop) passed this
    assert row.failed and "too few items (n=20 < 30)" in row.reason and not result.passed
    assert main(["gate", "--baseline", str(baseline), "--candidate", str(candidate)]) == 1
    assert "dropped 0.2000 > 0.01 on too few items" in capsys.readouterr().err


def test_the_gate_rule_needs_a_significant_drop_beyond_tolerance_on_enough_items():
    many = MIN_UNITS * 10
    rows = {
        "big significant": Delta(-0.05, -0.08, -0.02, se=0.012, n=many),
        "big noisy": Delta(-0.05, -0.2, 0.1, se=0.08, n=many),
        "small significant": Delta(-0.005, -0.008, -0.002, se=0.0015, n=many),
        "gain": Delta(0.05, 0.02, 0.08, se=0.012, n=many),
    }
    verdicts = decide(rows, max_drop=0.01)
    assert [name for name, (failed, _, _) in verdicts.items() if failed] == ["big significant"]
    assert "within noise" in verdicts["big noisy"][2]


def test_missing_rows_models_and_an_empty_baseline_fail_the_gate(tmp_path):
    tasks = ["ru_open_terra", "ru_open_rubq"]
    baseline = write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, tasks=tasks)
    partial = write_run(tmp_path / "b", "m", "ru-open", 0.0, seed=1, tasks=tasks[:1])
    result = gate(baseline, partial, iterations=100)
    assert not result.passed and {r.row for r in result.rows if r.reason == "missing from the candidate run"} == {
        "ru_open_rubq",
        "Knowledge",
    }
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"models": {}}))
    with pytest.raises(InputError, match="an empty baseline gates nothing"):
        gate(empty, baseline, iterations=100)
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(
            baseline_json([baseline]) | {"models": {"someone": json.loads((baseline / "summary.json").read_text())}}
        )
    )
    assert "has no entry for model m" in gate(other, baseline, iterations=100).problems[0]
    results = gate_runs(other, [baseline], max_drop=0.01, iterations=100)
    assert not all(r.passed for r in results) and any(
        "baseline model someone has no run" in p for r in results for p in r.problems
    )


def test_tokenizer_figures_are_gated(tmp_path):
    run_dir = write_run(tmp_path / "a", "m", "ru-open", 0.0, seed=1, n=40, tasks=["ru_open_terra"])
    file = tmp_path / "baseline.json"
    baseline = baseline_json([run_dir])
    file.write_text(json.dumps(baseline))
    assert gate(file, run_dir, any_change=True).passed
    baseline["models"]["m"]["tokenizer"]["ru chars/token"] *= 1.001
    file.write_text(json.dumps(baseline))
    result = gate(file, run_dir, any_change=True)
    assert not result.passed and "tokenizer ru chars/token changed" in result.problems[0]
    del baseline["models"]["m"]["tokenizer"]  # an older baseline file: loads, says it cannot gate the tokenizer
    file.write_text(json.dumps(baseline))
    result = gate(file, run_dir, any_change=True)
    assert result.passed and "tokenizer not gated" in result.notes[0]


def test_thirteen_model_report_has_heatmap_counts_and_collapsed_deltas(tmp_path):
    runs = [
        (
            write_run(tmp_path / "runs", f"model-{k:02d}", "ru-open", s, seed=k, n=60),
            "reference" if k == 0 else "candidate",
        )
        for k, s in enumerate(model_skills(13))
    ]
    summary = json.loads((runs[0][0] / "summary.json").read_text())
    assert set(summary["uncertainty"]) == set(summary["tasks"]) | set(summary["groups"])
    assert all(
        u["se"] > 0 and u["n"] >= 60 and u["low"] <= u["score"] <= u["high"] for u in summary["uncertainty"].values()
    )
    comparison = build_comparison("thirteen", runs, iterations=200)
    html = write_report(comparison, tmp_path / "report").read_text()
    assert "Δ heatmap" in html and "<details><summary>All 192 comparisons" in html and "±" in html
    rows = (tmp_path / "report" / "deltas.csv").read_text().splitlines()
    assert len(rows) == 1 + 12 * 16 and rows[0].startswith("model,reference,row,n,delta,low,high,se,p,p_bh")
    assert (tmp_path / "report" / "deltas.png").stat().st_size > 10_000
    ps = [d.p for rows in comparison.deltas.values() for d in rows.values()]
    assert all(d.p_adjusted >= d.p for rows in comparison.deltas.values() for d in rows.values()) and min(ps) < 0.05


def test_compare_of_a_task_subset_does_not_crash(tmp_path, capsys):
    """No group is complete (one task of the suite): the score figure shows the task instead."""
    runs = [
        write_run(tmp_path / "runs", name, "ru-open", skill, seed=k, n=40, tasks=["ru_open_copy_sent_en"])
        for k, (name, skill) in enumerate((("a", 0.0), ("b", 0.5)))
    ]
    assert main(["compare", *map(str, runs), "--reports", str(tmp_path / "reports"), "--iterations", "100"]) == 0, (
        capsys.readouterr().err
    )
    assert "ru_open_copy_sent_en" in (tmp_path / "reports" / "comparison" / "report.md").read_text()
