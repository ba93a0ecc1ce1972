"""vLLM's engine figures: deltas of its Prometheus counters and histograms, and busy time from the kernel."""

import http.server
import subprocess
import sys
import threading

import pytest

from harness.serving.engine_metrics import GENERATED, TTFT, EngineDelta, scrape, server_times


class _FakeVllm(http.server.BaseHTTPRequestHandler):
    generated = 0.0

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = (
            f'# TYPE vllm:generation_tokens counter\nvllm:generation_tokens_total{{model_name="m"}} {self.generated}\n'
            f"# TYPE vllm:time_to_first_token_seconds histogram\n"
            f'vllm:time_to_first_token_seconds_bucket{{le="+Inf",model_name="m"}} {self.generated / 10}\n'
            f'vllm:time_to_first_token_seconds_sum{{model_name="m"}} {self.generated / 100}\n'
            f'vllm:time_to_first_token_seconds_count{{model_name="m"}} {self.generated / 10}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


@pytest.fixture
def fake_vllm():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeVllm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()


def test_engine_figures_are_deltas_of_vllm_counters_and_histograms(fake_vllm):
    _FakeVllm.generated = 100.0
    before = scrape(fake_vllm)
    _FakeVllm.generated = 300.0
    delta = EngineDelta(before, scrape(fake_vllm))
    assert delta.delta(GENERATED) == 200
    assert delta.mean(TTFT) == pytest.approx(2.0 / 20)


# A process group shaped like `vllm serve`: the leader (the API server) starts a child named like vLLM's
# worker, which computes for 0.4 s and then blocks for 3 s, as an engine does between requests.
_WORKER = (
    'open("/proc/self/comm", "w").write("VLLM::Worker")\n'
    "import time\n"
    "time.sleep(0.3)\n"
    "stop = time.process_time() + 0.4\n"
    "while time.process_time() < stop:\n"
    "    pass\n"
    "time.sleep(3)\n"
)
_FAKE_SERVER = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {_WORKER!r}])\n"


def test_engine_busy_time_counts_the_model_threads_compute_not_its_idle_waits():
    import os
    import time

    leader = subprocess.Popen([sys.executable, "-c", _FAKE_SERVER], start_new_session=True)
    try:
        time.sleep(0.25)  # the worker is up, sleeping
        before, start = server_times(leader.pid), time.perf_counter()
        time.sleep(2.5)  # it computes 0.4 CPU seconds (longer on a busy machine), then blocks
        spent, wall = server_times(leader.pid) - before, time.perf_counter() - start
    finally:
        os.killpg(leader.pid, 9)
    assert 0.3 < spent.forward < 0.6, (spent, wall)
    assert spent.forward + spent.forward_wait < wall - 0.5, (spent, wall)
    assert spent.engine_cpu == pytest.approx(spent.forward, abs=0.1), spent
    assert spent.api_cpu < 0.1, spent
