"""`lep-bench compare --executor ray` on a private Ray cluster of this machine (127.0.0.1, 2 CPUs, hf backend):
scores identical to a local run, reuse, a failing job retried then reported, a killed worker resumed, no process
left."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

import harness.ray_executor as ray_executor
from harness.cli import EXIT_INCOMPLETE, main
from harness.demo.build import embedded_tasks
from harness.demo.small_models import build_small_model
from harness.experiment import RaySettings, Resources, load_experiment
from harness.sweep import run_experiment
from lep.errors import InputError

TASKS = ["ru_open_terra", "ru_open_xwinograd", "ru_open_rubq"]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, reference_tokenizer) -> list[Path]:
    root = tmp_path_factory.mktemp("models")
    return [
        build_small_model(reference_tokenizer("openchat-3.5"), root / f"m{i}", architecture="mistral", seed=i)
        for i in range(2)
    ]


def _experiment(folder: Path, models: dict[str, Path], **settings) -> Path:
    """An experiment YAML over the embedded task data: 3 tasks, 2 items each."""
    config = {
        "name": "sweep",
        "suites": ["ru-open"],
        "backend": "hf",
        "data_dir": str(embedded_tasks()),
        "limit": 2,
        "tasks": TASKS,
        "runs": "runs",
        "reports": "reports",
        "models": [
            {"name": name, "path": str(path), "kind": "instruct", "role": "reference" if i == 0 else "candidate"}
            for i, (name, path) in enumerate(models.items())
        ],
        **settings,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder / "exp.yaml"


class ProcessWatch:
    """Every descendant process of `root` seen while the block runs (PID and start time, so a reused PID is not
    confused)."""

    def __init__(self, root: int):
        self.root, self._stop = root, threading.Event()
        self.seen: dict[int, tuple[float, str]] = {}

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                children = psutil.Process(self.root).children(recursive=True)
            except psutil.Error:
                children = []
            for child in children:
                try:  # the latest command line: a process seen between fork and exec still shows its parent's
                    self.seen[child.pid] = (child.create_time(), " ".join(child.cmdline())[:120])
                except psutil.Error:
                    pass
            time.sleep(0.1)

    def __enter__(self) -> "ProcessWatch":
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def left_behind(self) -> list[str]:
        alive = []
        for pid, (created, command) in self.seen.items():
            try:
                process = psutil.Process(pid)
                if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{pid} {command}")
            except psutil.NoSuchProcess:
                pass
        return alive


def _store(runs: Path) -> dict[str, dict]:
    """model -> task scores and every sample's score and output."""
    out = {}
    for summary_path in runs.glob("*/ru-open/*/summary.json"):
        summary = json.loads(summary_path.read_text())
        samples = {
            p.stem: [
                (s["doc_id"], s["score"], s["filtered_resps"]) for s in map(json.loads, p.read_text().splitlines())
            ]
            for p in sorted((summary_path.parent / "samples").glob("*.jsonl"))
        }
        out[summary["model"]] = {"tasks": summary["tasks"], "samples": samples}
    return out


def test_executor_settings_are_checked(tmp_path, capsys):
    cases = [
        ({"executor": "slurm"}, "executor='slurm': must be 'local' or 'ray'"),
        ({"ray": {"adress": "auto"}}, "unknown setting 'ray.adress'"),
        ({"ray": {"retries": -1}}, "ray.retries=-1: must be greater than or equal to 0"),
        ({"tasks": ["ru_open_nope"]}, "task(s) ru_open_nope are in none of the suites ru-open"),
    ]
    for settings, message in cases:
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_experiment(_experiment(tmp_path, {"a": tmp_path / "a"}, **settings))
    config = _experiment(tmp_path, {"a": tmp_path / "a"})
    raw = yaml.safe_load(config.read_text())
    raw["models"][0]["tensor_parallel_size"] = "two"
    config.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError, match="models\\[a\\].tensor_parallel_size='two': must be a valid integer"):
        load_experiment(config)
    raw["models"][0]["tensor_parallel_size"] = 2
    split = {"backend": "vllm-server", "executor": "ray", "ray": {"address": "auto", "retries": 5}}
    config.write_text(yaml.safe_dump(raw | split))
    experiment = load_experiment(config)
    assert experiment.executor == "ray"
    assert experiment.ray == RaySettings(address="auto", retries=5)
    assert experiment.models[0].resources == Resources(tensor_parallel_size=2)
    config.write_text(yaml.safe_dump(raw | {"backend": "vllm-server"}))
    for args, message in (
        (["--address", "auto"], "--address and --retries are settings of the ray executor"),
        (["--executor", "ray", "--retries", "-1"], "retries=-1: must be greater than or equal to 0"),
    ):
        assert main(["compare", str(config), *args]) == 2
        assert message in capsys.readouterr().err


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path, tiny_models, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    config = _experiment(tmp_path, {"m0": tiny_models[0]})
    assert main(["compare", str(config), "--executor", "ray"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {ray_executor.INSTALL_HINT}"
    assert not (tmp_path / "runs").exists()


def test_a_job_no_node_can_run_is_refused_before_it_waits_forever(tmp_path, tiny_models):
    """tensor_parallel_size 1 asks for a GPU; this machine's cluster has none."""
    config = _experiment(tmp_path, {"m0": tiny_models[0]}, executor="ray", ray={"local_cpus": 2})
    raw = yaml.safe_load(config.read_text())
    raw["models"][0]["tensor_parallel_size"] = 1
    config.write_text(yaml.safe_dump(raw))
    with (
        ProcessWatch(os.getpid()) as watch,
        pytest.raises(
            InputError,
            match="asks for 1 GPU\\(s\\) and 1 CPU\\(s\\), but the largest node of the Ray cluster has 0 GPU",
        ),
    ):
        run_experiment(load_experiment(config))
    assert watch.seen
    assert not watch.left_behind()


@pytest.mark.slow
def test_ray_gives_the_local_scores_and_a_second_compare_reuses_everything(tmp_path, tiny_models, monkeypatch):
    models = {f"m{i}": path for i, path in enumerate(tiny_models)}
    local = load_experiment(_experiment(tmp_path / "local", models))
    run_experiment(local, progress=lambda _: None)
    on_ray = load_experiment(_experiment(tmp_path / "ray", models, executor="ray", ray={"local_cpus": 2}))
    with ProcessWatch(os.getpid()) as watch:
        runs = run_experiment(on_ray)
    assert len(runs) == 2
    assert [role for _, role in runs] == ["reference", "candidate"]
    assert not watch.left_behind(), "Ray processes outlived the sweep"
    assert any("raylet" in command for _, command in watch.seen.values())
    expected, got = _store(tmp_path / "local" / "runs"), _store(tmp_path / "ray" / "runs")
    assert set(got) == set(models)
    assert got == expected
    assert len({json.dumps(v, sort_keys=True) for v in got.values()}) == 2, (
        "the models should differ (outputs, log-likelihoods)"
    )
    logs = [(run_dir / ray_executor.LOG_NAME).read_text() for run_dir, _ in runs]
    assert all(log.count("=== attempt") == 1 for log in logs), "each model is one Ray task, run once"

    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "ray" / "runs").rglob("*") if p.is_file()}
    monkeypatch.setattr(ray_executor, "ray_cluster", lambda *a: pytest.fail("a finished sweep should not start Ray"))
    again = run_experiment(load_experiment(tmp_path / "ray" / "exp.yaml"))
    assert again == runs
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "ray" / "runs").rglob("*") if p.is_file()} == before


def _attempts(log: str) -> list[str]:
    return log.split("=== attempt ")[1:]


@pytest.mark.slow
def test_a_failing_job_is_retried_then_reported_and_a_killed_worker_resumes(tmp_path, tiny_models):
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in tiny_models[1].iterdir():
        if file.suffix != ".safetensors":  # config and tokenizer pass the up-front checks; loading the weights fails
            (broken / file.name).write_bytes(file.read_bytes())
    config = _experiment(
        tmp_path / "exp",
        {"victim": tiny_models[0], "broken": broken},
        executor="ray",
        ray={"local_cpus": 2, "retries": 2},
    )
    runs = tmp_path / "exp" / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "compare", str(config), "--iterations", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    with ProcessWatch(process.pid) as watch:
        deadline, killed = time.monotonic() + 300, None
        while time.monotonic() < deadline and killed is None and process.poll() is None:
            finished = list(runs.glob("victim/ru-open/*/tasks/*.json"))
            if finished:
                log = next(runs.glob("victim/ru-open/*/sweep.log"))
                pid = int(log.read_text().split("=== attempt 1 · pid ", 1)[1].split()[0])
                os.kill(pid, signal.SIGKILL)
                killed = {p.stem: p.read_bytes() for p in finished}
            time.sleep(0.02)
        stdout, stderr = process.communicate(timeout=300)
    assert killed, f"the victim's worker should have been killed mid-run:\n{stdout}\n{stderr}"
    assert process.returncode == EXIT_INCOMPLETE, stderr
    assert "the sweep is incomplete: 1 run(s) failed (broken on ru-open)" in stderr
    assert "Traceback" not in stderr

    victim = next(runs.glob("victim/ru-open/*"))
    assert set(json.loads((victim / "summary.json").read_text())["tasks"]) == set(TASKS)
    assert all((victim / "tasks" / f"{task}.json").read_bytes() == data for task, data in killed.items()), (
        "a finished task was recomputed"
    )
    attempts = _attempts((victim / ray_executor.LOG_NAME).read_text())
    assert len(attempts) == 2
    assert not any(f"victim · {task}" in attempts[1] for task in killed)
    assert all(f"victim · {task}" in attempts[1] for task in set(TASKS) - set(killed))

    broken_log = next(runs.glob("broken/ru-open/*/sweep.log"))
    assert len(_attempts(broken_log.read_text())) == 3
    assert "failed: broken on ru-open after 3 attempt(s)" in stdout
    assert f"last lines of {broken_log}" in stdout
    assert "victim · ru-open  done (2 attempts)" in stdout
    report = (tmp_path / "exp" / "reports" / "sweep" / "report.md").read_text()
    assert "broken is missing from this report: its ru-open run failed after 3 attempt(s)" in report
    assert not watch.left_behind(), "Ray processes outlived the sweep"
