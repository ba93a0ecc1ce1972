"""`lep-bench compare` of finished runs and of an experiment, in this process: reports, baselines, the gate,
and every option and output path checked before work."""

import pytest

from tests.support.cli import run_cli
from tests.support.synthetic_runs import write_run


def test_a_task_subset_is_compared_by_its_tasks(tmp_path, capsys):
    """No group is complete (one task of the suite): the score figure shows the task instead."""
    runs = [
        write_run(tmp_path / "runs", name, "ru-open", skill, seed=k, n=40, tasks=["ru_open_copy_sent_en"])
        for k, (name, skill) in enumerate((("a", 0.0), ("b", 0.5)))
    ]
    status, _, err = run_cli(["compare", *runs, "--reports", tmp_path / "reports", "--iterations", "100"], capsys)
    assert status == 0, err
    assert "ru_open_copy_sent_en" in (tmp_path / "reports" / "comparison" / "report.md").read_text()


def test_a_baseline_written_by_compare_gates_the_same_runs(tmp_path, capsys):
    runs = [
        write_run(tmp_path / "runs", name, "ru-open", 0.0, seed=k, n=40, tasks=["ru_open_terra"])
        for k, name in enumerate("ab")
    ]
    baseline = tmp_path / "ci" / "baseline.json"
    reports = ["--reports", tmp_path / "reports", "--iterations", "50"]
    assert run_cli(["compare", *runs, *reports, "--write-baseline", baseline], capsys)[0] == 0
    status, out, _ = run_cli(["compare", *runs, *reports, "--gate", baseline], capsys)
    assert status == 0
    assert "gate passed" in out
    status, _, err = run_cli(["compare", runs[0], *reports, "--gate", baseline], capsys)
    assert status == 1  # model b of the baseline has no run
    assert "baseline model b has no run in this comparison" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--write-baseline", "{dir}"], "--write-baseline {dir} is a directory, not a file"),
        (["--reports", "{file}"], "--reports {file} is a file, not a directory"),
        (["--executor", "ray"], "--executor, --address and --retries apply to an experiment YAML or the demo"),
    ],
)
def test_output_paths_and_options_are_checked_before_any_work(tmp_path, capsys, extra, message):
    run = write_run(tmp_path / "runs", "a", "ru-open", 0.0, seed=1, n=10, tasks=["ru_open_terra"])
    (tmp_path / "file").write_text("x")
    fill = {"{dir}": str(tmp_path), "{file}": str(tmp_path / "file")}
    for key, value in fill.items():
        extra = [a.replace(key, value) for a in extra]
        message = message.replace(key, value)
    status, _, err = run_cli(["compare", run, "--reports", tmp_path / "reports", *extra], capsys)
    assert status == 2
    assert message in err
    assert not (tmp_path / "reports").exists()


def test_a_gate_run_leaves_the_speed_run_out(tmp_path, monkeypatch):
    import harness.compare as compare_module
    from harness.compare import CompareOptions
    from harness.experiment import ExperimentConfig

    measured: list[bool] = []
    monkeypatch.setattr(compare_module, "run_experiment", lambda *_: [])
    monkeypatch.setattr(compare_module, "run_speed", lambda *_: measured.append(True) or {"speed": "measured"})
    experiment = ExperimentConfig.model_validate(
        {"models": [{"name": "a", "path": str(tmp_path)}], "speed": {}, "reports": str(tmp_path / "reports")}
    )
    report = compare_module._run(experiment, CompareOptions(), lambda _: None, lambda _: None)
    assert report.speed == {"speed": "measured"} and measured == [True]
    gated = compare_module._run(experiment, CompareOptions(gate=tmp_path / "b.json"), lambda _: None, lambda _: None)
    assert gated.speed is None and measured == [True] and gated.speed_skipped and not report.speed_skipped
    # the report says a gate run left speed out only where the experiment measures it
    unmeasured = experiment.model_copy(update={"speed": None})
    assert not compare_module._run(
        unmeasured, CompareOptions(gate=tmp_path / "b.json"), *[lambda _: None] * 2
    ).speed_skipped
