"""How much of a vllm-server evaluation is the harness: wall time per task against the engine's busy time.

Busy time is sampled from vLLM's own metrics (harness/engine_metrics.BusyMonitor); the ratio wall /
busy is 1.0 when the engine never waits for lm-eval, HTTP or tokenisation. Two walls per task: the
whole evaluation (task building, prompts, requests, scoring) and the request phase alone (inside
lm-eval's loglikelihood / generate_until calls). Printed per task and per task type.

    python benchmarks/harness_overhead.py --model out/models/smollm2-135m-instruct --data-dir ../shared/data --limit 8
"""

import argparse
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from harness.backends import BackendSettings, open_backend
from harness.engine_metrics import BusyMonitor
from harness.evaluation import PromptSettings, evaluate_task, task_manager
from harness.model_spec import parse_spec
from tasks_ru.suites import suite_tasks


def time_requests(lm) -> dict[str, float]:
    """Wrap the LM's request methods; the returned dict accumulates their wall time."""
    spent = {"seconds": 0.0}
    for name in ("loglikelihood", "generate_until"):
        inner = getattr(lm, name)

        def timed(*args, _inner=inner, **kwargs):
            start = time.perf_counter()
            try:
                return _inner(*args, **kwargs)
            finally:
                spent["seconds"] += time.perf_counter() - start

        setattr(lm, name, timed)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="model dir or spec")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--suite", default="ru-open")
    parser.add_argument("--tasks", nargs="*", help="default: the whole suite")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--num-concurrent", type=int, default=BackendSettings.num_concurrent)
    parser.add_argument("--batch-size", type=int, default=BackendSettings.batch_size)
    args = parser.parse_args()
    spec = parse_spec(args.model)
    settings = BackendSettings(backend="vllm-server", num_concurrent=args.num_concurrent, batch_size=args.batch_size)
    manager = task_manager(args.data_dir, Path(spec.tokenizer_path))
    prompts = PromptSettings(kind=spec.kind, limit=args.limit)
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    print(
        f"{'task':28s} {'type':16s} {'wall s':>8s} {'requests s':>10s} {'busy s':>8s} {'wall/busy':>9s} {'req/busy':>9s} {'samples':>8s}"
    )
    with open_backend(replace(spec), settings) as lm:
        url = f"http://127.0.0.1:{lm.server.port}/metrics"
        requests = time_requests(lm)
        for task in args.tasks or suite_tasks(args.suite):
            requests["seconds"] = 0.0
            start = time.perf_counter()
            with BusyMonitor(url, lm.server.api_key) as monitor:
                result = evaluate_task(lm, task, prompts, manager)
            wall = time.perf_counter() - start
            kind = result["config"]["output_type"]
            kind = "generation" if kind == "generate_until" else "log-likelihood"
            busy = max(monitor.busy_seconds, 1e-9)
            for i, value in enumerate((wall, requests["seconds"], monitor.busy_seconds)):
                totals[kind][i] += value
            print(
                f"{task:28s} {kind:16s} {wall:8.2f} {requests['seconds']:10.2f} {monitor.busy_seconds:8.2f} {wall / busy:9.2f} "
                f"{requests['seconds'] / busy:9.2f} {monitor.samples:8d}"
            )
    for kind, (wall, in_requests, busy) in totals.items():
        print(
            f"{'ALL ' + kind:45s} {wall:8.2f} {in_requests:10.2f} {busy:8.2f} {wall / busy:9.2f} {in_requests / busy:9.2f}"
        )
    print(
        f"settings: num_concurrent={args.num_concurrent} batch_size={args.batch_size} limit={args.limit} model={spec.path}"
    )


if __name__ == "__main__":
    main()
