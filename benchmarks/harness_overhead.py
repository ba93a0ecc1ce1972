"""How much of a vllm-server evaluation is the harness: wall time per task against the engine's busy time.

Busy time is sampled from vLLM's own running/waiting gauges (harness/engine_metrics.BusyMonitor);
the ratio wall / busy is 1.0 when the engine never waits for lm-eval, HTTP or tokenisation.
Printed per task and per task type (log-likelihood vs generation).

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
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    print(f"{'task':28s} {'type':16s} {'wall s':>8s} {'busy s':>8s} {'wall/busy':>9s} {'samples':>8s}")
    with open_backend(replace(spec), settings) as lm:
        url = f"http://127.0.0.1:{lm.server.port}/metrics"
        for task in args.tasks or suite_tasks(args.suite):
            start = time.perf_counter()
            with BusyMonitor(url, lm.server.api_key) as monitor:
                result = evaluate_task(lm, task, prompts, manager)
            wall = time.perf_counter() - start
            kind = result["config"]["output_type"]
            kind = "generation" if kind == "generate_until" else "log-likelihood"
            totals[kind][0] += wall
            totals[kind][1] += monitor.busy_seconds
            print(f"{task:28s} {kind:16s} {wall:8.2f} {monitor.busy_seconds:8.2f} {wall / max(monitor.busy_seconds, 1e-9):9.2f} {monitor.samples:8d}")
    for kind, (wall, busy) in totals.items():
        print(f"{'ALL ' + kind:45s} {wall:8.2f} {busy:8.2f} {wall / max(busy, 1e-9):9.2f}")
    print(f"settings: num_concurrent={args.num_concurrent} batch_size={args.batch_size} limit={args.limit} model={spec.path}")


if __name__ == "__main__":
    main()
