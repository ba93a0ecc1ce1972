"""A run's summary.json: task, group and total scores, each with its bootstrap uncertainty, from the task files."""

import json
from pathlib import Path
from typing import Any

from harness.stats.estimates import score_intervals, suite_groups
from tasks_ru.suites import COPY_TASKS_RU, summarise


def _score_items(run_dir: Path, task: str) -> dict[int, Any]:
    lines = (run_dir / "samples" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
    return {s["doc_id"]: s["score"] for s in map(json.loads, lines)}


def summarise_run(run_dir: Path, suite: str, iterations: int = 1000) -> dict[str, Any]:
    """Scores, groups, total (each also with bootstrap SE, 95% interval and n resampling units under
    `uncertainty`), and the Russian copy tasks' generated characters/token, from the task files."""
    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((run_dir / "tasks").glob("*.json"))}
    scores = {task: r["metrics"]["score"] for task, r in results.items()}
    intervals = score_intervals(
        {task: _score_items(run_dir, task) for task in results}, suite_groups(suite), iterations=iterations
    )
    copy = [results[t] for t in COPY_TASKS_RU[suite] if t in results]
    speed = {}
    if copy:
        speed = {
            "ru_generated_chars_per_token": sum(r["metrics"]["chars_per_token"] for r in copy) / len(copy),
            "copy_task_wall_seconds": sum(r["generation_wall"]["generate_seconds"] for r in copy),
        }
    uncertainty = {row: e.record() for row, e in intervals.items()}
    return {
        "suite": suite,
        "tasks": scores,
        "groups": summarise(suite, scores),
        "uncertainty": uncertainty,
        "speed": speed,
    }
