"""A server outlives no lep-bench: the reaper kills its group when lep-bench is SIGKILLed (no vLLM needed)."""

import os
import signal
import subprocess
import sys
import time

from harness.serving.process_group import group_members

# Stands in for lep-bench: starts a "server" (a leader and a child in their own session, like
# `vllm serve` and its engine) and the reaper, as harness/serving/server.py does, prints the group, waits.
SLEEP = "import time; time.sleep(600)"
SERVER = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {SLEEP!r}]); {SLEEP}"
LEP_BENCH = f"""
import subprocess, sys, time
server = subprocess.Popen([sys.executable, "-c", {SERVER!r}], start_new_session=True)
reaper = [sys.executable, "-m", "harness.serving.reaper", str(server.pid)]
subprocess.Popen(reaper, stdin=subprocess.PIPE, start_new_session=True)
time.sleep(1.0)
print(server.pid, flush=True)
time.sleep(600)
"""


def test_a_sigkilled_lep_bench_leaves_no_server_process():
    parent = subprocess.Popen([sys.executable, "-c", LEP_BENCH], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    group = int(parent.stdout.readline())
    try:
        assert len(group_members(group)) == 2  # the leader and its child
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_members(group)
    finally:
        if group_members(group):
            os.killpg(group, signal.SIGKILL)
