"""The report's IFEval tables: the four accuracies with their intervals and paired differences, and the
instruction types, which say which kinds of instruction an adapted model stops following where the accuracies
only say how many.

Instruction types: one row per task and instruction id: n, how many instructions of that id the task
asked (in the first run that has the task), then per model the share it followed, strict / loose. Read from
the runs' samples, where each doc keeps its instruction ids and `inst_level_*` the verdicts in the same order.
"""

import json
from functools import partial
from pathlib import Path

import pandas as pd

from harness.run.store import RunTables
from harness.stats.estimates import comparison_statistics
from tasks_ru.suites import metric_aggregation, suite_tasks

IFEVAL_TASKS = suite_tasks("ifeval")
ACCURACIES = {
    "prompt_level_strict_acc": "prompt, strict",
    "prompt_level_loose_acc": "prompt, loose",
    "inst_level_strict_acc": "instruction, strict",
    "inst_level_loose_acc": "instruction, loose",
}


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


def accuracy_table(tables: RunTables, reference: str, iterations: int = 1000) -> pd.DataFrame | None:
    """Per IFEval task and accuracy: n prompts, each model's value [95% interval], and each other model's paired
    difference from `reference` [95% interval] with its p (the prompt is the unit); None without IFEval tasks."""
    rows = tables.samples[tables.samples["task"].isin(IFEVAL_TASKS)]
    if rows.empty:
        return None
    labels = list(dict.fromkeys(rows["label"]))
    reference = reference if reference in labels else labels[0]
    pairs = [(label, reference) for label in labels if label != reference]
    out = []
    for task in [t for t in IFEVAL_TASKS if t in set(rows["task"])]:
        for metric, name in ACCURACIES.items():
            items = {
                label: {task: dict(zip(group["doc_id"], group[metric]))}
                for label, group in rows[rows["task"] == task].groupby("label", sort=False)
            }
            estimates, deltas = comparison_statistics(
                items, pairs, {}, iterations, aggregation=partial(metric_aggregation, metric=metric)
            )
            row: dict[str, object] = {"task": task, "accuracy": name, "n": estimates[reference][task].n}
            for label in labels:
                e = estimates[label][task]
                row[label] = f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}]"
            for pair in pairs:
                d = deltas[pair][task]
                row[f"Δ {pair[0]}"] = f"{d.delta:+.3f} [{d.low:+.3f}, {d.high:+.3f}] p={d.p:.2g}"
            out.append(row)
    return pd.DataFrame(out)
