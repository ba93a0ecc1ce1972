"""vLLM's own metrics, read from a running server's Prometheus endpoint (/metrics).

Speed figures come from the engine, not from wall clocks around HTTP calls: time to first token,
time per output token and token counts are deltas of vLLM's histograms and counters between two
scrapes. Engine busy time (for the harness-overhead ratio) is not among vLLM's metrics (no per-step
time), and sampling its gauges misses one-step requests such as a log-likelihood's prefill, so it
comes from the kernel's per-thread run times of the server's processes (`server_times`).
"""

import urllib.request
from dataclasses import astuple, dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from harness.serving.process_group import group_names

# histogram/counter samples whose deltas the speed benchmark reads
TTFT = "vllm:time_to_first_token_seconds"
TPOT = "vllm:inter_token_latency_seconds"
GENERATED = "vllm:generation_tokens_total"
PROMPT = "vllm:prompt_tokens_total"


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


def _schedstat(path: Path) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of a thread or a whole task."""
    try:
        run_ns, wait_ns, _ = path.read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def _process_cpu(pid: int) -> float:
    return sum(_schedstat(task / "schedstat")[0] for task in Path(f"/proc/{pid}/task").glob("*"))


@dataclass(frozen=True)
class ServerTimes:
    """Cumulative times of a local vLLM server's processes, from Linux's per-thread scheduler stats.

    `forward` is the engine's busy time: the time on a CPU of the thread that runs the model (the
    Worker's main thread, or EngineCore's with the in-process executor). That thread blocks, using no
    time, while it has no work, so this counts every step, prefill-only ones included, at nanosecond
    resolution; vLLM exports no per-step time. `forward_wait` is the time the same thread was
    runnable but waiting for a CPU (other processes, the harness's included, held them).
    `engine_cpu` (every engine thread) and `api_cpu` (the API server: HTTP, tokenising,
    detokenising, formatting logprobs) are CPU seconds, to say where time outside the forward goes.
    """

    forward: float = 0.0
    forward_wait: float = 0.0
    engine_cpu: float = 0.0
    api_cpu: float = 0.0

    def __sub__(self, other: "ServerTimes") -> "ServerTimes":
        return ServerTimes(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))


def server_times(pgid: int) -> ServerTimes:
    """Read `ServerTimes` now for the server whose process group is `pgid` (its leader's pid)."""
    processes = group_names(pgid)
    engines = {pid: name for pid, name in processes.items() if name.startswith("VLLM::")}
    runner = next((pid for pid, name in engines.items() if name.startswith("VLLM::Worker")), None)
    runner = runner or next(iter(engines), None)
    forward, forward_wait = _schedstat(Path(f"/proc/{runner}/task/{runner}/schedstat")) if runner else (0.0, 0.0)
    return ServerTimes(
        forward=forward,
        forward_wait=forward_wait,
        engine_cpu=sum(_process_cpu(pid) for pid in engines),
        api_cpu=sum(_process_cpu(pid) for pid in processes if pid not in engines),
    )
