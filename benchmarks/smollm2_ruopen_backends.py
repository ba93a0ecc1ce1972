"""SmolLM2-135M-Instruct on the real ru-open data through every backend (vllm-server compiled and eager,
in-process vllm, hf), one run each, timed; then compare them with compare_backends_samples.py.

python benchmarks/smollm2_ruopen_backends.py [DATA_DIR] [OUT]   (defaults: ../shared/data, out/backend-runs)
"""

import json
import sys
import time
from pathlib import Path

from harness.run.backends import BackendSettings
from harness.run.evaluation import PromptSettings
from harness.run.model_spec import parse_spec, resolve_spec
from harness.run.request import RunRequest
from harness.run.runner import run

BACKENDS = {
    "server": BackendSettings(backend="vllm-server"),
    "server-eager": BackendSettings(backend="vllm-server", enforce_eager=True),
    "vllm": BackendSettings(backend="vllm"),
    "hf": BackendSettings(backend="hf"),
}


def main(data_dir: Path, out: Path) -> None:
    for name, backend in BACKENDS.items():
        started = time.perf_counter()
        request = RunRequest.for_model(
            resolve_spec(parse_spec(f"path=smollm2-135m-instruct,kind=instruct,name=smollm2-{name}")),
            "ru-open",
            backend,
            PromptSettings(limit=20, num_fewshot=3),
            out,
            data_dir,
        )
        run_dir = run(request, progress=lambda _: None)
        timings = json.loads((run_dir / "provenance.json").read_text(encoding="utf-8"))["timings"]
        start = timings["backend_start_seconds"]
        print(f"{name}: {time.perf_counter() - started:.0f} s, start {start:.0f} s, {run_dir}")


if __name__ == "__main__":  # the guard matters: in-process vLLM spawns processes that re-import this file
    args = sys.argv[1:]
    main(Path(args[0] if args else "../shared/data"), Path(args[1] if len(args) > 1 else "out/backend-runs"))
