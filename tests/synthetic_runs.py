"""Finished run dirs with synthetic per-sample scores (no model): for report, gate and statistics tests.

Each task's items take the shape its aggregation expects (choice tuples, PARus pairs sharing a key,
USE variants, MMLU subjects, chrF++ sentence pairs, per-document scores); a model's skill shifts the
chance of each item being right, with item difficulty shared by all models (so runs are paired).
"""

import json
import math
import zlib
from pathlib import Path

import numpy as np

from harness.runner import summarise_run
from harness.task_statistics import BothOrders, CategoryMean, Confusion, CorpusChrF, Mean, UseGrade, statistic_for
from tasks_ru.mmlu_categories import SUBJECTS
from tasks_ru.suites import score_aggregation, suite_tasks

WORDS = "дом лес река город поле небо море гора степь сад окно дверь".split()


def synthetic_items(task: str, n: int, skill: float, rng: np.random.Generator, difficulty: np.ndarray) -> list:
    right = rng.random(n) < 1 / (1 + np.exp(-(skill - difficulty)))
    statistic = statistic_for(score_aggregation(task))
    if isinstance(statistic, BothOrders):
        return [[0, 0 if ok else 1, str(i // 2)] for i, ok in enumerate(right)]
    if isinstance(statistic, CategoryMean):
        subjects = sorted(SUBJECTS)
        return [[1, 1 if ok else 0, subjects[i % len(subjects)]] for i, ok in enumerate(right)]
    if isinstance(statistic, UseGrade):
        return [[str(i // 27), int(ok) + int(ok and rng.random() < 0.3)] for i, ok in enumerate(right)]
    if isinstance(statistic, CorpusChrF):
        refs = [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(6)) for i in range(n)]
        return [[ref, ref if ok else " ".join(reversed(ref.split()))] for ref, ok in zip(refs, right)]
    if isinstance(statistic, Confusion):
        golds = np.arange(n) % 3
        return [[int(g), int(g) if ok else int((g + 1) % 3), ""] for g, ok in zip(golds, right)]
    if type(statistic) is Mean:
        return [
            float(ok) if task.endswith(("para_en", "para_ru")) else float(np.clip(ok * 0.8 + rng.random() * 0.2, 0, 1))
            for ok in right
        ]
    return [[0, 0 if ok else 1, ""] for ok in right]  # accuracy


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


def model_skills(count: int) -> list[float]:
    """Skills of `count` synthetic models, the first the reference: some equal, some clearly better or worse."""
    return [0.0] + [0.6 * math.sin(1.7 * k) for k in range(1, count)]


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
