"""A server's processes killed whatever its leader's state, and signals turned into a clean stop, without vLLM."""

import os
import signal
import subprocess
import time

import pytest

from harness.serving.interruption import Interrupted, exit_status, on_interrupt, stop_on_signals
from harness.serving.process_group import descendants, group_members, kill_all, still_alive
from harness.serving.server import VllmServer


def _orphaning_group() -> subprocess.Popen:
    """A leader with two children in its own session, like `vllm serve` with its engine and worker."""
    leader = subprocess.Popen(["sh", "-c", "sleep 300 & sleep 300 & wait"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(descendants(leader.pid)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return leader


def test_stop_kills_the_group_when_its_leader_is_already_dead(tmp_path):
    leader = _orphaning_group()
    children = descendants(leader.pid)
    server = VllmServer(tmp_path, "fake")
    server.process, server.known = leader, children
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait()
    assert still_alive(children), "the children outlive their leader (what orphaned vLLM's engine)"
    server.stop()
    assert not still_alive(children)
    assert not group_members(leader.pid)


def test_kill_all_reports_nothing_left(tmp_path):
    leader = _orphaning_group()
    children = descendants(leader.pid)
    assert kill_all(leader.pid, children) == set()
    leader.wait()
    assert not still_alive(children)


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_runs_the_callbacks_raises_and_is_remembered(signum, status):
    called, before = [], signal.getsignal(signum)  # not SIG_DFL after an in-process ray.init
    on_interrupt(1, lambda: called.append(True))
    try:
        with stop_on_signals() as received, pytest.raises(Interrupted) as error:
            os.kill(os.getpid(), signum)
            time.sleep(5)
    finally:
        on_interrupt(1, None)
    assert error.value.signum == signum
    assert received() == signum
    assert exit_status(signum) == status
    assert called == [True]
    assert signal.getsignal(signum) == before
