"""Wall time of one sweep, `--executor local` vs `--executor ray` (a private 127.0.0.1 cluster), side by side.

Four tiny models built from config (harness.demo.small_models, seeds 0-3, the OpenChat-3.5 tokenizer), the hf
backend, the embedded task data; each executor gets a fresh store and a fresh `lep-bench compare`
process, so both pay the same imports and report. On a 2-core machine Ray cannot be faster: the figure
is the overhead Ray adds (cluster start, worker processes, one model load per worker). It also checks
that both stores hold identical scores, and times an empty cluster's start and stop.

    .venv/bin/python benchmarks/sweep_overhead.py [--workers 2] [--limit 2] [--work out/bench-sweep]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from harness.demo.build import embedded_tasks
from harness.demo.small_models import build_small_model
from harness.experiment import RaySettings
from harness.ray_executor import ray_cluster
from lep.reference_tokenizers import load_tokenizer

TASKS = ["ru_open_terra", "ru_open_xwinograd", "ru_open_rucola", "ru_open_rubq"]


def scores(runs: Path) -> dict[str, dict[str, float]]:
    return {
        json.loads(p.read_text())["model"]: json.loads(p.read_text())["tasks"]
        for p in runs.glob("*/ru-open/*/summary.json")
    }


def worker_pid() -> int:
    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the Ray cluster = jobs at once (default: 2)")
    parser.add_argument("--limit", type=int, default=2, help="items per task (default: 2)")
    parser.add_argument("--work", type=Path, default=Path("out/bench-sweep"))
    args = parser.parse_args()
    tokenizer = load_tokenizer("openchat-3.5")
    models = [args.work / "models" / f"m{i}" for i in range(4)]
    for seed, path in enumerate(models):
        if not (path / "config.json").is_file():
            build_small_model(tokenizer, path, architecture="mistral", seed=seed)
    print(
        f"machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}; 4 models x {len(TASKS)} tasks x {args.limit} items, hf backend"
    )
    wall = {}
    for executor in ("local", "ray"):
        folder = args.work / executor
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        config = {
            "name": f"bench-{executor}",
            "suites": ["ru-open"],
            "backend": "hf",
            "data_dir": str(embedded_tasks()),
            "limit": args.limit,
            "tasks": TASKS,
            "runs": "runs",
            "reports": "reports",
            "executor": executor,
            "ray": {"local_cpus": args.workers},
            "models": [{"name": p.name, "path": str(p.resolve()), "kind": "instruct"} for p in models],
        }
        (folder / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "harness.cli", "compare", str(folder / "exp.yaml"), "--iterations", "100"],
            capture_output=True,
            text=True,
        )
        wall[executor] = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"{executor} sweep failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
        print(f"{executor:5s}: {wall[executor]:6.1f} s wall (lep-bench compare, 4 runs + report)")
    same = scores(args.work / "local" / "runs") == scores(args.work / "ray" / "runs")
    print(f"ray / local: {wall['ray'] / wall['local']:.2f}x; scores identical: {same}")
    started = time.perf_counter()
    with ray_cluster(RaySettings(local_cpus=args.workers), print) as ray:
        ray.get([ray.remote(worker_pid).remote() for _ in range(args.workers)])
    print(
        f"a private {args.workers}-CPU Ray cluster alone (start, {args.workers} empty tasks, stop): {time.perf_counter() - started:.1f} s; "
        f"load average at end {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
