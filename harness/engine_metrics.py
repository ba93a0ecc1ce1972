"""vLLM's own metrics, read from a running server's Prometheus endpoint (/metrics).

Speed figures come from the engine, not from wall clocks around HTTP calls: time to first token,
time per output token and token counts are deltas of vLLM's histograms and counters between two
scrapes. Engine busy time (for the harness-overhead ratio) is sampled: an interval between two
scrapes counts as busy when the engine stepped in it (its per-step histogram grew) or still holds
requests (running/waiting gauges). The step count is needed because a one-step request (a
log-likelihood: prefill only) is already gone from the gauges when the step's stats arrive.
"""

import threading
import time
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

# histogram/counter samples whose deltas the speed benchmark reads
TTFT = "vllm:time_to_first_token_seconds"
TPOT = "vllm:inter_token_latency_seconds"
GENERATED = "vllm:generation_tokens_total"
PROMPT = "vllm:prompt_tokens_total"
STEPS = "vllm:iteration_tokens_total_count"  # one observation per engine step
RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"


def scrape(metrics_url: str, api_key: str | None = None, timeout: float = 10.0) -> dict[str, float]:
    """Every sample of the endpoint, summed over label sets (one engine per server here)."""
    request = urllib.request.Request(metrics_url, headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read().decode("utf-8")
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.endswith(("_bucket", "_created")):
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


@dataclass(frozen=True)
class EngineDelta:
    """What the engine did between two scrapes."""

    before: dict[str, float]
    after: dict[str, float]

    def delta(self, name: str) -> float:
        return self.after.get(name, 0.0) - self.before.get(name, 0.0)

    def mean(self, histogram: str) -> float:
        """Mean of a histogram's observations between the scrapes (NaN when there were none)."""
        count = self.delta(f"{histogram}_count")
        return self.delta(f"{histogram}_sum") / count if count else float("nan")


@dataclass
class BusyMonitor:
    """Samples the engine's step count and request gauges in a thread; `busy_seconds` is the time
    in which it stepped or held requests.

    Sampling (default every 50 ms) rather than summing per-request times, because requests overlap:
    the sum of their durations over-counts a batched engine's busy time. The resolution is the
    sampling interval (`samples` says how many were taken).
    """

    metrics_url: str
    api_key: str | None = None
    interval: float = 0.05
    busy_seconds: float = 0.0
    samples: int = 0
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _poll(self) -> None:
        last, steps = time.perf_counter(), None
        while not self._stop.is_set():
            try:
                values = scrape(self.metrics_url, self.api_key, timeout=10.0)
            except OSError:  # a busy server can answer late: the gap goes to the next sample's state
                self.failed += 1
                self._stop.wait(self.interval)
                continue
            now = time.perf_counter()
            stepped = steps is not None and values.get(STEPS, 0.0) > steps
            if stepped or values.get(RUNNING, 0.0) + values.get(WAITING, 0.0) > 0:
                self.busy_seconds += now - last
            self.samples += 1
            last, steps = now, values.get(STEPS, 0.0)
            self._stop.wait(self.interval)

    def __enter__(self) -> "BusyMonitor":
        self._thread = threading.Thread(target=self._poll, name="vllm-busy-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
