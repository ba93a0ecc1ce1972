"""`lep-bench run` on HF with a tiny model: the run store, resume after a kill, fingerprints, clear errors."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import harness.run.runner as runner
from harness.demo.small_models import build_small_model
from harness.run.runner import run
from harness.run.store import load_runs
from lep.errors import InputError
from tests.support.cli import run_cli
from tests.support.requests import TASKS
from tests.support.requests import run_request as _request


def test_a_run_writes_results_provenance_and_tables(tiny_model, tmp_path, demo_data):
    run_dir = run(_request(tiny_model, tmp_path, demo_data), progress=lambda _: None)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["tasks"]) == set(TASKS)
    assert summary["speed"]["copy_task_wall_seconds"] > 0
    provenance = json.loads((run_dir / "provenance.json").read_text())
    settings = provenance["settings"]
    assert settings["backend"].pop("device") in ("cpu", "cuda")  # auto, resolved and recorded
    assert settings["backend"] == {
        "backend": "hf",
        "batch_size": 8,
        "seed": 1234,
        "dtype": "float32",
        "max_length": 2048,
        "add_bos_token": True,
    }
    assert settings["fingerprints"]["model"]
    assert settings["packages"]["lm_eval"]
    assert provenance["git_revision"]
    assert settings["data"]["data_dir"] == str(demo_data.resolve())
    assert set(settings["data"]["files"]) == set(TASKS)
    task = json.loads((run_dir / "tasks" / "ru_open_terra.json").read_text())
    assert task["data_hash"]
    assert task["version"] == 1.0
    assert task["n_samples"]["effective"] == 2
    tables = load_runs([run_dir])
    assert len(tables.tasks) == 3
    assert len(tables.samples) == 6
    assert "score" in tables.samples
    assert set(tables.groups["group"]) == {"Knowledge"}  # the only group whose tasks all ran


def test_a_killed_run_resumes_with_only_the_missing_tasks(tiny_model, tmp_path, demo_data, monkeypatch):
    args = [
        "run",
        "--model",
        f"path={tiny_model},kind=instruct",
        "--suite",
        "ru-open",
        "--tasks",
        *TASKS,
        "--limit",
        "2",
        "--backend",
        "hf",
        "--data-dir",
        str(demo_data),
        "--out",
        str(tmp_path),
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not list(tmp_path.rglob("tasks/*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.stem for p in tmp_path.rglob("tasks/*.json")}
    assert finished, "the kill should land mid-suite"
    assert finished != set(TASKS), "the kill should land mid-suite"

    evaluated = []
    original = runner.evaluate_task
    monkeypatch.setattr(runner, "evaluate_task", lambda lm, task, *a: evaluated.append(task) or original(lm, task, *a))
    run_dir = run(_request(tiny_model, tmp_path, demo_data), progress=lambda _: None)
    assert set(evaluated) == set(TASKS) - finished
    assert set(json.loads((run_dir / "summary.json").read_text())["tasks"]) == set(TASKS)
    assert not list(run_dir.rglob("*.tmp"))


def test_a_changed_model_or_setting_gets_a_new_run_dir(tiny_model, tmp_path, demo_data, reference_tokenizer):
    same = _request(tiny_model, tmp_path, demo_data).run_dir()
    assert _request(tiny_model, tmp_path, demo_data).run_dir() == same
    assert _request(tiny_model, tmp_path, demo_data, max_length=1024).run_dir() != same
    other = build_small_model(reference_tokenizer("openchat-3.5"), tmp_path / "other", architecture="mistral", seed=1)
    assert _request(other, tmp_path, demo_data, name="tiny").run_dir() != same


def test_bad_inputs_are_one_line_errors(tiny_model, tmp_path, demo_data, capsys):
    base = ["--suite", "ru-open", "--data-dir", str(demo_data), "--out", str(tmp_path)]
    cases = [
        (["--model", str(tmp_path / "nope")], "does not exist"),
        (
            ["--model", f"path={tiny_model},tokenizer=llama-3"],
            "the tokenizer has 128256 tokens but the model only 32002 embedding rows",
        ),
        (["--model", f"path={tiny_model},colour=red"], "'colour=red' is not one of"),
        (["--model", f"path={tiny_model},kind=chat"], "kind='chat': must be 'base' or 'instruct'"),
        (["--model", str(tiny_model), "--tasks", "ru_open_nope"], "tasks ru_open_nope are not in suite ru-open"),
    ]
    for args, message in cases:
        status, _, err = run_cli(["run", *args, *base], capsys)
        assert status == 2, err
        assert message in err


def test_a_run_that_fails_before_its_first_task_leaves_no_run_dir_but_keeps_a_foreign_file(
    tiny_model, tmp_path, demo_data, monkeypatch
):
    def fail(*args):
        raise RuntimeError("the first task failed")

    monkeypatch.setattr(runner, "evaluate_task", fail)
    request = _request(tiny_model, tmp_path / "runs", demo_data)
    with pytest.raises(RuntimeError, match="the first task failed"):
        run(request, progress=lambda _: None)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

    run_dir = request.run_dir()
    run_dir.mkdir(parents=True)
    (run_dir / "sweep.log").write_text("attempt 1\n")  # the sweep logs its attempts in the run dir
    with pytest.raises(RuntimeError, match="the first task failed"):
        run(request, progress=lambda _: None)
    assert sorted(p.name for p in run_dir.iterdir()) == ["sweep.log"]


def test_run_refuses_an_unknown_backend(tiny_model, tmp_path, demo_data):
    with pytest.raises(InputError, match="backend=.tgi.: must be"):
        run(_request(tiny_model, tmp_path, demo_data, backend="tgi"), progress=lambda _: None)


def test_a_taken_port_is_a_clear_error(tiny_model, tmp_path, demo_data, capsys):
    """Refused before vLLM starts (it need not be installed)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        args = ["--backend", "vllm-server", "--port", port, "--data-dir", demo_data, "--out", tmp_path]
        status, _, err = run_cli(["run", "--model", tiny_model, "--suite", "ru-open", *args], capsys)
    assert status == 2
    assert f"port {port} on 127.0.0.1 is already in use" in err
