"""How much of a vllm-server evaluation is the harness: wall time per task against the engine's busy time.

Busy time is the model-running thread's time on a CPU (harness/serving/engine_metrics.server_times);
the ratio wall / busy is 1.0 when the engine never waits for lm-eval, HTTP or tokenisation. Two walls per
task: the whole evaluation (task building, prompts, requests, scoring) and the request phase alone (inside
lm-eval's loglikelihood / generate_until calls). Where the rest goes: CPU seconds of the engine's other
threads, of the API server process (HTTP, tokenising, detokenising, formatting logprobs) and of this
process (lm-eval: building requests, the HTTP client, scoring). Printed per task and per task type.

    python benchmarks/harness_overhead.py --model out/models/smollm2-135m-instruct --data-dir ../shared/data --limit 8
"""

import argparse
import time
from collections import defaultdict
from pathlib import Path

from harness.run.backends import BackendSettings, open_backend
from harness.run.evaluation import PromptSettings, evaluate_task, task_manager
from harness.run.model_spec import parse_spec, resolve_spec
from harness.serving.engine_metrics import ServerTimes, server_times
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
    spec = resolve_spec(parse_spec(args.model))
    settings = BackendSettings(backend="vllm-server", num_concurrent=args.num_concurrent, batch_size=args.batch_size)
    manager = task_manager(args.data_dir, Path(spec.tokenizer_path))
    prompts = PromptSettings(kind=spec.kind, limit=args.limit)
    columns = ("wall", "requests", "busy", "busy_wait", "engine_cpu", "api_cpu", "client_cpu")
    totals: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(columns, 0.0))
    print(
        f"{'task':28s} {'type':15s} "
        + " ".join(f"{c + ' s':>12s}" for c in columns)
        + f" {'wall/busy':>9s} {'req/busy':>9s}"
    )

    def row(label: str, kind: str, figures: dict[str, float]) -> None:
        busy = max(figures["busy"], 1e-9)
        print(
            f"{label:28s} {kind:15s} "
            + " ".join(f"{figures[c]:12.2f}" for c in columns)
            + f" {figures['wall'] / busy:9.2f} {figures['requests'] / busy:9.2f}"
        )

    with open_backend(spec, settings) as lm:
        pgid = lm.server.process.pid
        idle = server_times(pgid)
        time.sleep(3.0)
        print(f"idle server, 3 s: {server_times(pgid) - idle}")
        requests = time_requests(lm)
        for task in args.tasks or suite_tasks(args.suite):
            requests["seconds"] = 0.0
            start, client, before = time.perf_counter(), time.process_time(), server_times(pgid)
            result = evaluate_task(lm, task, prompts, manager)
            spent: ServerTimes = server_times(pgid) - before
            figures = {
                "wall": time.perf_counter() - start,
                "requests": requests["seconds"],
                "busy": spent.forward,
                "busy_wait": spent.forward_wait,
                "engine_cpu": spent.engine_cpu,
                "api_cpu": spent.api_cpu,
                "client_cpu": time.process_time() - client,
            }
            kind = "generation" if result["config"]["output_type"] == "generate_until" else "log-likelihood"
            for column, value in figures.items():
                totals[kind][column] += value
            row(task, kind, figures)
    for kind, figures in totals.items():
        row("ALL", kind, figures)
    print(
        f"settings: num_concurrent={args.num_concurrent} batch_size={args.batch_size} limit={args.limit} model={spec.path}"
    )


if __name__ == "__main__":
    main()
