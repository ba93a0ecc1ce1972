"""The report's table of IFEval instruction types: which kinds of instruction each model follows and which an
adapted model stops following, where the accuracies only say how many.

One row per task and instruction id: n, how many instructions of that id the task asked (in the first run that has
the task), then per model the share it followed, strict / loose. Read from the runs' samples, where each doc keeps
its instruction ids and `inst_level_*` the verdicts in the same order.
"""

import json
from pathlib import Path

import pandas as pd

from harness.run.store import RunTables
from tasks_ru.suites import suite_tasks

IFEVAL_TASKS = suite_tasks("ifeval")


def _tallies(run: str, task: str) -> dict[str, list[int]]:
    """instruction id -> [instructions, followed strict, followed loose] in one run's samples of a task."""
    out: dict[str, list[int]] = {}
    for line in (Path(run) / "samples" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        verdicts = zip(
            sample["doc"]["instruction_id_list"], sample["inst_level_strict_acc"], sample["inst_level_loose_acc"]
        )
        for instruction, strict, loose in verdicts:
            tally = out.setdefault(instruction, [0, 0, 0])
            tally[0] += 1
            tally[1] += int(strict)
            tally[2] += int(loose)
    return out


def instruction_table(tables: RunTables) -> pd.DataFrame | None:
    """Per (task, instruction id): n and each model's 'strict / loose' share followed; None without IFEval tasks."""
    runs = tables.tasks[tables.tasks["task"].isin(IFEVAL_TASKS)]
    if runs.empty:
        return None
    tallies = {(label, task): _tallies(run, task) for run, label, task in runs[["run", "label", "task"]].values}
    labels = list(dict.fromkeys(runs["label"]))
    rows = []
    for task in [t for t in IFEVAL_TASKS if t in set(runs["task"])]:
        per_model = {label: tallies[(label, task)] for label in labels if (label, task) in tallies}
        first = next(iter(per_model.values()))
        for instruction in sorted({i for tally in per_model.values() for i in tally}):
            row: dict[str, object] = {"task": task, "instruction": instruction, "n": first.get(instruction, [0])[0]}
            for label in labels:
                n, strict, loose = per_model.get(label, {}).get(instruction, [0, 0, 0])
                row[label] = f"{strict / n:.3f} / {loose / n:.3f}" if n else "–"
            rows.append(row)
    return pd.DataFrame(rows)
