"""Finished run dirs written directly, with synthetic per-sample scores (harness/stats/simulate.py) and no
model: for report, gate, compare and statistics tests, in milliseconds."""

import json
import zlib
from pathlib import Path

import numpy as np

from harness.run.summary import summarise_run
from harness.stats.simulate import synthetic_items
from tasks_ru.suites import score_aggregation, suite_tasks


def write_run(
    root: Path,
    model: str,
    suite: str,
    skill: float,
    seed: int,
    n: int = 120,
    tasks: list[str] | None = None,
    tokenizer: str = "openchat-3.5",
) -> Path:
    """One finished run dir under root/model/suite/synthetic (tasks default to the whole suite)."""
    run_dir = root / model / suite / "synthetic"
    (run_dir / "tasks").mkdir(parents=True, exist_ok=True)
    (run_dir / "samples").mkdir(exist_ok=True)
    for task in tasks or suite_tasks(suite):
        task_rng = np.random.default_rng(zlib.crc32(task.encode()))  # item difficulty: the same for every model
        difficulty = task_rng.normal(0, 1.5, n)
        items = synthetic_items(task, n, skill, np.random.default_rng([seed, zlib.crc32(task.encode())]), difficulty)
        score = score_aggregation(task)(items)
        metrics = {"score": score, "chars_per_token": 2.5}
        samples = [
            {
                "doc_id": i,
                "score": item,
                "filtered_resps": [f"ответ {i}"],
                "arguments": [[f"вопрос {i}"]],
                "target": "цель",
            }
            for i, item in enumerate(items)
        ]
        (run_dir / "samples" / f"{task}.jsonl").write_text(
            "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8"
        )
        result = {
            "task": task,
            "metrics": metrics,
            "n_samples": {"effective": n, "original": n},
            "version": 1.0,
            "data_hash": f"hash-{task}",
            "seconds": 1.0,
            "generation_wall": {"generate_seconds": 1.0, "generated_chars": 100 + 10 * seed, "generated_tokens": 40},
        }
        (run_dir / "tasks" / f"{task}.json").write_text(json.dumps(result), encoding="utf-8")
    settings = {"backend": {"backend": "hf"}, "prompts": {"kind": "instruct", "limit": None}}
    provenance = {
        "spec": {"name": model, "path": tokenizer, "tokenizer": tokenizer},
        "settings": settings,
        "git_revision": "synthetic",
        "timings": {},
    }
    (run_dir / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
    summary = summarise_run(run_dir, suite, iterations=200) | {"model": model, "kind": "instruct"}
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run_dir


def set_items(run_dir: Path, task: str, items: list) -> Path:
    """Replace one task's per-sample `score` items (and its score and the summary) in a run dir."""
    suite = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    samples = [
        {"doc_id": i, "score": item, "filtered_resps": [f"ответ {i}"], "arguments": [[f"вопрос {i}"]], "target": "цель"}
        for i, item in enumerate(items)
    ]
    (run_dir / "samples" / f"{task}.jsonl").write_text(
        "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8"
    )
    result = json.loads((run_dir / "tasks" / f"{task}.json").read_text(encoding="utf-8"))
    result["metrics"]["score"] = score_aggregation(task)(items)
    result["n_samples"] = {"effective": len(items), "original": len(items)}
    (run_dir / "tasks" / f"{task}.json").write_text(json.dumps(result), encoding="utf-8")
    summary = summarise_run(run_dir, suite["suite"], iterations=200) | {"model": suite["model"], "kind": suite["kind"]}
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run_dir
