"""A vllm-server run cannot orphan its server: not when `vllm serve` is SIGKILLed mid-run, not on
SIGTERM of lep-bench (SIGINT takes the same handler). Each test runs the real CLI on a tiny model and, 10 s after
the event, finds no process of the server's group (nor any descendant it had) alive."""

import os
import signal
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest

from harness.demo.small_models import build_small_model
from harness.serving.process_group import ProcessId, descendants, group_members, still_alive

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_spec("vllm") is None and os.environ.get("CI") != "true",
        reason="vLLM is not installed (./setup.sh cpu or ./setup.sh vllm); CI=true makes this a failure",
    ),
]
TASKS = ["ru_open_terra", "ru_open_rubq", "ru_open_xwinograd"]
SERVER_START_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, reference_tokenizer) -> Path:
    return build_small_model(reference_tokenizer("openchat-3.5"), tmp_path_factory.mktemp("m") / "tiny")


def _start_run(model: Path, out: Path, data_dir: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "harness.cli", "run", "--model", f"path={model},kind=base", "--suite", "ru-open"]
    command += ["--tasks", *TASKS, "--limit", "8", "--backend", "vllm-server", "--data-dir", str(data_dir)]
    command += ["--enforce-eager"]  # a shorter start: what these tests watch is the process tree, not the kernels
    return subprocess.Popen(
        [*command, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _server_mid_run(run: subprocess.Popen, out: Path) -> tuple[int, set[ProcessId]]:
    """Wait for the first finished task (the server is up and serving); the server leader's PID and its processes."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not list(out.rglob("tasks/*.json")):
        assert run.poll() is None, f"the run ended before its first task: {run.communicate()}"
        assert time.monotonic() < deadline, "no task finished in time"
        time.sleep(0.2)
    leader = next(p for p in descendants(run.pid) if "\0serve\0" in Path(f"/proc/{p.pid}/cmdline").read_text())
    return leader.pid, group_members(leader.pid) | descendants(leader.pid) | {leader}


def _assert_gone_10s_later(group: int, processes: set[ProcessId], since: float) -> None:
    """Nothing of the server's group, nor any process it had, is alive 10 s after `since` (checked as it goes)."""
    while (group_members(group) or still_alive(processes)) and time.monotonic() < since + 10:
        time.sleep(0.2)
    assert not group_members(group), "server processes outlived the run"
    assert not still_alive(processes), "server processes outlived the run"


def test_a_sigkilled_server_takes_its_engine_and_workers_with_it(tiny_model, tmp_path, data_dir):
    run = _start_run(tiny_model, tmp_path, data_dir)
    try:
        leader, processes = _server_mid_run(run, tmp_path)
        assert len(processes) > 1, "vllm serve should have an engine process"
        os.kill(leader, signal.SIGKILL)
        killed = time.monotonic()
        _, stderr = run.communicate(timeout=120)
        _assert_gone_10s_later(leader, processes, killed)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]  # lm-eval's progress bars aside
    assert run.returncode == 2, stderr
    assert "Traceback" not in stderr, stderr
    assert len(errors) == 1, stderr
    assert errors[0].startswith("error: the vLLM server died during ru_open_"), stderr
    assert list(tmp_path.rglob("tasks/*.json")), "finished tasks are kept"


def test_sigterm_stops_the_run_within_seconds_and_its_server(tiny_model, tmp_path, data_dir):
    """SIGTERM (`timeout`, a scheduler); SIGINT takes the same handler (unit-tested: test_processes.py), so one
    server start covers both."""
    run = _start_run(tiny_model, tmp_path, data_dir)
    try:
        leader, processes = _server_mid_run(run, tmp_path)
        run.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, stderr = run.communicate(timeout=30)
        stopped_after = time.monotonic() - sent
        _assert_gone_10s_later(leader, processes, sent)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 143, stderr
    assert "Traceback" not in stderr, stderr
    assert stopped_after < 10, f"took {stopped_after:.1f} s to stop"
    assert "interrupted: finished tasks are kept" in stderr
    assert list(tmp_path.rglob("tasks/*.json")), "finished tasks are kept"
    assert list(tmp_path.rglob("vllm-server.log")), "the server log lives in the run dir"
