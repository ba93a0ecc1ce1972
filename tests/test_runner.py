"""`lep-bench run`: run store, resume after a kill, fingerprints, clear errors, the vLLM server path."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harness.runner as runner
from harness.backends import BackendSettings
from harness.evaluation import PromptSettings
from harness.model_spec import parse_spec
from harness.runner import RunRequest, run
from harness.serving import ServerError
from harness.store import load_runs
from lep.errors import InputError
from lep.small_models import build_small_model

TASKS = ("ru_open_terra", "ru_open_rubq", "ru_open_copy_sent_ru")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, reference_tokenizer) -> Path:
    return build_small_model(
        reference_tokenizer("openchat-3.5"), tmp_path_factory.mktemp("m") / "tiny", architecture="mistral"
    )


def _request(model: Path, out: Path, data_dir: Path, backend: str = "hf", tasks=TASKS, **spec) -> RunRequest:
    fields = ",".join(f"{k}={v}" for k, v in {"path": model, "kind": "instruct", **spec}.items())
    return RunRequest(
        spec=parse_spec(fields),
        suite="ru-open",
        tasks=tuple(tasks),
        out=out,
        data_dir=data_dir,
        backend=BackendSettings(backend=backend),
        prompts=PromptSettings(limit=2),
    )


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_a_run_writes_results_provenance_and_tables(tiny_model, tmp_path, demo_data):
    run_dir = run(_request(tiny_model, tmp_path, demo_data), progress=lambda _: None)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["tasks"]) == set(TASKS) and summary["speed"]["copy_task_wall_seconds"] > 0
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
    assert settings["fingerprints"]["model"] and settings["packages"]["lm_eval"] and provenance["git_revision"]
    assert settings["data"]["data_dir"] == str(demo_data.resolve()) and set(settings["data"]["files"]) == set(TASKS)
    task = json.loads((run_dir / "tasks" / "ru_open_terra.json").read_text())
    assert task["data_hash"] and task["version"] == 1.0 and task["n_samples"]["effective"] == 2
    tables = load_runs([run_dir])
    assert len(tables.tasks) == 3 and len(tables.samples) == 6 and "score" in tables.samples
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
    assert finished and finished != set(TASKS), "the kill should land mid-suite"

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


def test_bad_inputs_are_one_line_errors(tiny_model, tmp_path, demo_data):
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
        result = _cli("run", *args, *base)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.vllm
def test_a_taken_port_is_a_clear_error(tiny_model, tmp_path, demo_data):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = _cli(
            "run",
            "--model",
            str(tiny_model),
            "--suite",
            "ru-open",
            "--backend",
            "vllm-server",
            "--port",
            str(port),
            "--data-dir",
            str(demo_data),
            "--out",
            str(tmp_path),
        )
    assert result.returncode == 2 and f"port {port} on 127.0.0.1 is already in use" in result.stderr


def _vllm_processes(model: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", f"serve {model}"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


@pytest.mark.slow
@pytest.mark.vllm
def test_the_vllm_server_path_matches_hf(tiny_model, tmp_path, demo_data):
    """One server for the whole suite; scores identical to hf and log-likelihoods within 1e-3 nats."""
    served = run(_request(tiny_model, tmp_path, demo_data, backend="vllm-server"), progress=lambda _: None)
    local = run(_request(tiny_model, tmp_path, demo_data, backend="hf"), progress=lambda _: None)
    tables = load_runs([served, local])
    scores = tables.tasks.pivot(index="task", columns="backend", values="score")
    assert (scores["vllm-server"] == scores["hf"]).all(), scores
    lls = {}
    for backend, run_dir in (("served", served), ("hf", local)):
        lines = (run_dir / "samples" / "ru_open_terra.jsonl").read_text().splitlines()
        lls[backend] = [resp[0][0] for line in lines for resp in json.loads(line)["resps"]]
    assert max(abs(a - b) for a, b in zip(lls["served"], lls["hf"])) < 1e-3
    assert json.loads((served / "provenance.json").read_text())["timings"]["backend_start_seconds"] > 0
    assert not _vllm_processes(tiny_model)


@pytest.mark.slow
@pytest.mark.vllm
def test_a_server_that_dies_mid_run_is_reported_and_leaves_no_process(tiny_model, tmp_path, demo_data, monkeypatch):
    original = runner.evaluate_task

    def kill_then_evaluate(lm, task, *args):
        os.killpg(lm.server.process.pid, signal.SIGKILL)
        lm.server.process.wait()
        return original(lm, task, *args)

    monkeypatch.setattr(runner, "evaluate_task", kill_then_evaluate)
    with pytest.raises(ServerError, match="the vLLM server died during ru_open_terra"):
        run(_request(tiny_model, tmp_path, demo_data, backend="vllm-server"), progress=lambda _: None)
    assert not _vllm_processes(tiny_model)


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


def test_enforce_eager_reaches_vllm_and_the_fingerprint(tmp_path, monkeypatch):
    import harness.serving as serving
    from harness.compare import load_experiment
    from harness.model_spec import ModelSpec

    spec = ModelSpec(name="m", path=str(tmp_path), max_length=2048)  # no config.json to read the context from
    eager, compiled = BackendSettings(backend="vllm-server", enforce_eager=True), BackendSettings(backend="vllm-server")
    assert eager.record(spec)["server"]["enforce_eager"] and not compiled.record(spec)["server"]["enforce_eager"]
    assert BackendSettings(backend="vllm", enforce_eager=True).record(spec)["enforce_eager"]
    assert "enforce_eager" not in BackendSettings(backend="vllm").record(spec)  # earlier runs keep their fingerprints
    monkeypatch.setattr(serving, "_vllm_command", lambda: ["vllm"])
    assert "--enforce-eager" in serving.VllmServer(tmp_path, "m", eager.server_settings(spec)).command()
    assert "--enforce-eager" not in serving.VllmServer(tmp_path, "m", compiled.server_settings(spec)).command()
    config = tmp_path / "exp.yaml"
    config.write_text(f"models: [{{name: m, path: {tmp_path}}}]\nenforce_eager: true\n", encoding="utf-8")
    assert load_experiment(config).enforce_eager


@pytest.mark.parametrize(
    ("cores", "env", "binding"),
    [({0, 1}, None, "0,1"), ({3}, None, "3"), (set(range(8)), None, None), ({0, 1}, "auto", "auto")],
)
def test_a_small_cpu_gives_vllm_every_core_and_the_binding_is_recorded(tmp_path, monkeypatch, cores, env, binding):
    import harness.serving as serving
    from harness.model_spec import ModelSpec

    monkeypatch.setattr(serving.os, "sched_getaffinity", lambda pid: cores)
    if env is None:
        monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    else:
        monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", env)
    spec = ModelSpec(name="m", path=str(tmp_path), max_length=2048)
    server = BackendSettings(backend="vllm-server").record(spec)["server"]
    in_process = BackendSettings(backend="vllm").record(spec)
    assert server.get("cpu_binding") == binding and in_process.get("cpu_binding") == binding
    assert serving.VllmServer(tmp_path, "m", serving.ServerSettings()).environment().get(
        "VLLM_CPU_OMP_THREADS_BIND"
    ) == (binding if binding is not None else env)


@pytest.mark.parametrize("env", ["7", "0-2", "zero", "0-"])
def test_a_binding_to_cores_the_machine_lacks_is_one_clear_error(tmp_path, monkeypatch, env):
    import harness.serving as serving
    from harness.model_spec import ModelSpec

    monkeypatch.setattr(serving.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", env)
    with pytest.raises(InputError, match=r"VLLM_CPU_OMP_THREADS_BIND=.* usable cores \(0,1\)"):
        BackendSettings(backend="vllm-server").record(ModelSpec(name="m", path=str(tmp_path), max_length=2048))
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "1|0-1")
    assert serving.default_cpu_binding() == "1|0-1"


def test_an_hf_speed_run_ignores_vllms_binding_and_a_served_one_checks_it(tmp_path, monkeypatch):
    import harness.serving as serving
    from harness.speed import SpeedSettings, machine_record, server_binding

    monkeypatch.setattr(serving.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "7")
    assert server_binding(SpeedSettings(backend="hf")) == {}
    assert machine_record()["thread_env"]["VLLM_CPU_OMP_THREADS_BIND"] == "7"  # as set, for the record
    with pytest.raises(InputError, match="VLLM_CPU_OMP_THREADS_BIND='7'"):
        server_binding(SpeedSettings(backend="vllm-server"))
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND")
    assert server_binding(SpeedSettings(backend="vllm-server")) == {"cpu_binding": "0,1"}
