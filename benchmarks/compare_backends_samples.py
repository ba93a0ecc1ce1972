"""Per-task scores and per-sample log-likelihoods of two or more run dirs of the same model, side by side.

python benchmarks/compare_backends_samples.py runs/m/ru-open/<fp-hf> runs/m/ru-open/<fp-server> ...
"""

import json
import sys
from pathlib import Path


def logliks(run_dir: Path, task: str) -> list[float]:
    out = []
    for line in (run_dir / "samples" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines():
        for resp in json.loads(line)["resps"]:
            if isinstance(resp[0], list):
                out.append(resp[0][0])
    return out


def outputs(run_dir: Path, task: str) -> list[str] | None:
    """Generated texts (stripped: HF drops a leading space that vLLM keeps); None for choice tasks."""
    resps = [
        json.loads(line)["filtered_resps"]
        for line in (run_dir / "samples" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return [r[0].strip() for r in resps] if resps and isinstance(resps[0][0], str) else None


def main(dirs: list[Path]) -> None:
    summaries = [json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in dirs]
    backends = [
        json.loads((d / "provenance.json").read_text(encoding="utf-8"))["settings"]["backend"]["backend"] for d in dirs
    ]
    print(f"{'task':28s}" + "".join(f"{b:>14s}" for b in backends) + f"{'max |Δll|':>12s}{'same outputs':>14s}")
    for task in summaries[0]["tasks"]:
        scores = "".join(f"{s['tasks'][task]:14.4f}" for s in summaries)
        lls = [logliks(d, task) for d in dirs]
        diff = max((abs(a - b) for other in lls[1:] for a, b in zip(lls[0], other)), default=float("nan"))
        first = outputs(dirs[0], task)
        same = "n/a" if first is None else str(all(outputs(d, task) == first for d in dirs[1:]))
        print(f"{task:28s}{scores}{diff:12.2e}{same:>14s}")
    for d, s in zip(dirs, summaries):
        seconds = json.loads((d / "provenance.json").read_text(encoding="utf-8"))["timings"]
        print(d, {k: round(v, 1) for k, v in seconds.items()})


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
