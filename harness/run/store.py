"""Finished runs as pandas tables: one row per sample, per task, per group (and total) of each run."""

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lep.errors import InputError


@dataclass
class RunTables:
    samples: pd.DataFrame  # run, label, model, suite, task, doc_id, prompt, output, target, one column per metric
    tasks: (
        pd.DataFrame
    )  # run, label, model, kind, suite, backend, task, score, every task metric, n, version, data_hash
    groups: pd.DataFrame  # run, label, model, kind, suite, backend, group, score (the total is a group row)
    summaries: dict[str, dict]  # label -> summary.json
    provenance: dict[str, dict]  # label -> provenance.json

    def score_items(self, label: str) -> dict[str, dict[int, object]]:
        """Per task, each item's `score` entry by doc id: what the paired bootstrap resamples."""
        rows = self.samples[self.samples["label"] == label]
        return {task: dict(zip(group["doc_id"], group["score"])) for task, group in rows.groupby("task")}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path} cannot be read ({e}): is {path.parent} a finished lep-bench run dir?") from None


def _run_labels(infos: list[tuple[str, str, str]]) -> list[str]:
    """One distinct label per (model, backend, run id): the model name, plus the backend (then the run id)
    where names repeat."""
    labels = [m for m, _, _ in infos]
    if len(set(labels)) < len(labels):
        labels = [f"{m} ({b})" if labels.count(m) > 1 else m for m, b, _ in infos]
    if len(set(labels)) < len(labels):
        labels = [
            f"{label} {run_id}" if labels.count(label) > 1 else label for label, (_, _, run_id) in zip(labels, infos)
        ]
    return labels


def load_runs(run_dirs: list[Path]) -> RunTables:
    """Load run dirs written by `lep-bench run` (each must hold summary.json); `label` tells runs apart."""
    summaries = [_read_json(d / "summary.json") for d in run_dirs]
    provenances = [_read_json(d / "provenance.json") for d in run_dirs]
    labels = _run_labels(
        [(s["model"], p["settings"]["backend"]["backend"], d.name) for s, p, d in zip(summaries, provenances, run_dirs)]
    )
    samples, tasks, groups = [], [], []
    for run_dir, label, summary, provenance in zip(run_dirs, labels, summaries, provenances):
        ident = {
            "run": str(run_dir),
            "label": label,
            "model": summary["model"],
            "kind": summary["kind"],
            "suite": summary["suite"],
            "backend": provenance["settings"]["backend"]["backend"],
        }
        for task_file in sorted((run_dir / "tasks").glob("*.json")):
            result = _read_json(task_file)
            metrics = {k: v for k, v in result["metrics"].items() if not k.endswith("_stderr")}
            tasks.append(
                {
                    **ident,
                    "task": result["task"],
                    **metrics,
                    "n": result["n_samples"]["effective"],
                    "version": result["version"],
                    "data_hash": result["data_hash"],
                    "seconds": result["seconds"],
                }
            )
            for line in (run_dir / "samples" / f"{result['task']}.jsonl").read_text(encoding="utf-8").splitlines():
                sample = json.loads(line)
                values = {m: sample[m] for m in metrics if m in sample}
                samples.append(
                    {
                        "run": str(run_dir),
                        "label": label,
                        "model": summary["model"],
                        "suite": summary["suite"],
                        "task": result["task"],
                        "doc_id": sample["doc_id"],
                        "prompt": _prompt(sample),
                        "output": sample["filtered_resps"],
                        "target": sample.get("target"),
                        **values,
                    }
                )
        groups += [{**ident, "group": name, "score": value} for name, value in summary["groups"].items()]
    return RunTables(
        pd.DataFrame(samples),
        pd.DataFrame(tasks),
        pd.DataFrame(groups),
        dict(zip(labels, summaries)),
        dict(zip(labels, provenances)),
    )


def _prompt(sample: dict) -> str:
    """The text the model saw (the first request's context; a choice task's options share it)."""
    arguments = sample.get("arguments") or [[""]]
    return str(arguments[0][0])
