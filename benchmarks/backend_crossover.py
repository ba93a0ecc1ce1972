"""Where vLLM's start-up pays for itself: ru-open wall time through hf and vllm-server, by model size.

Small Mistral-architecture models around the real OpenChat-3.5 tokenizer; every run starts fresh
(backend start included, as a user pays it). Prints one table; figures logged in docs/log.md.

    python benchmarks/backend_crossover.py --data-dir ../shared/data --limit 4 --sizes 64x2 512x8 1024x16
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from harness.demo.small_models import build_small_model
from harness.run.backends import BackendSettings
from harness.run.evaluation import PromptSettings
from harness.run.model_spec import parse_spec
from harness.run.request import RunRequest
from harness.run.runner import run
from lep.reference_tokenizers import load_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--sizes", nargs="+", default=["64x2", "512x8", "1024x16"], help="HIDDENxLAYERS")
    parser.add_argument("--backends", nargs="+", default=["hf", "vllm-server"])
    args = parser.parse_args()
    tokenizer = load_tokenizer("openchat-3.5")
    work = Path(tempfile.mkdtemp(prefix="lep-crossover-"))
    print(
        f"{'model':>10s} {'params':>8s} {'backend':>12s} {'start s':>8s} {'tasks s':>8s} {'total s':>8s} {'gen tok/s':>10s} {'mean':>7s}"
    )
    for size in args.sizes:
        hidden, layers = (int(x) for x in size.split("x"))
        model = build_small_model(tokenizer, work / size, architecture="mistral", hidden_size=hidden, layers=layers)
        config = json.loads((model / "config.json").read_text())
        params = config["vocab_size"] * hidden * 2 + layers * (
            4 * hidden * hidden + 3 * hidden * config["intermediate_size"]
        )
        for backend in args.backends:
            request = RunRequest.for_model(
                parse_spec(f"path={model},name={size},kind=instruct"),
                "ru-open",
                BackendSettings(backend=backend),
                PromptSettings(limit=args.limit),
                work / "runs",
                args.data_dir,
            )
            started = time.perf_counter()
            run_dir = run(request, progress=lambda _: None)
            total = time.perf_counter() - started
            timings = json.loads((run_dir / "provenance.json").read_text())["timings"]
            summary = json.loads((run_dir / "summary.json").read_text())
            gen_tokens = sum(
                json.loads(p.read_text())["generation_wall"]["generated_tokens"]
                for p in (run_dir / "tasks").glob("*.json")
            )
            gen_seconds = sum(
                json.loads(p.read_text())["generation_wall"]["generate_seconds"]
                for p in (run_dir / "tasks").glob("*.json")
            )
            start = timings["backend_start_seconds"]
            print(
                f"{size:>10s} {params / 1e6:7.1f}M {backend:>12s} {start:8.1f} {total - start:8.1f} {total:8.1f} {gen_tokens / gen_seconds:10.1f} {summary['groups']['Mean']:7.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
