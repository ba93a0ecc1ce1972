"""`lep-bench gate`: does a candidate run lose more than the tolerance against a baseline, beyond noise?

A row (task, group or total) fails when even the optimistic end of its 95% bootstrap interval for
candidate − baseline is below −max_drop (or, with any_change, when a deterministic run's score moved
by more than max_drop either way). The baseline is a run dir (paired bootstrap on the same
items) or a summary JSON of scores (the candidate's resampling noise only).
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.bootstrap import Delta, paired_bootstrap
from harness.store import load_runs
from lep.errors import InputError
from tasks_ru.suites import SUITES, TOTAL


@dataclass
class RowVerdict:
    row: str
    baseline: float
    candidate: float
    delta: float
    low: float
    high: float
    failed: bool


def _summary(path: Path, model: str | None = None) -> dict:
    """A run's summary; a baseline file may also map model names to summaries (see baseline_json)."""
    file = path / "summary.json" if path.is_dir() else path
    try:
        summary = json.loads(file.read_text(encoding="utf-8"))
        if model is not None and "models" in summary:
            if model not in summary["models"]:
                raise InputError(f"baseline {file} has no entry for model {model} (has {', '.join(summary['models'])})")
            summary = summary["models"][model]
        summary["tasks"], summary["groups"], summary["suite"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise InputError(f"{file} is not a lep-bench run dir or summary JSON ({e})") from None
    return summary


def baseline_json(run_dirs: list[Path]) -> dict:
    """Scores of several runs keyed by model: the file `lep-bench gate` and `compare --gate` read."""
    summaries = [_summary(d) for d in run_dirs]
    return {"models": {s["model"]: {k: s[k] for k in ("model", "suite", "tasks", "groups")} for s in summaries}}


def _items(run_dir: Path) -> dict[str, dict[int, object]]:
    tables = load_runs([run_dir])
    return tables.score_items(next(iter(tables.summaries)))


def gate(baseline: Path, candidate: Path, max_drop: float = 0.01, tasks: list[str] | None = None, iterations: int = 1000,
         any_change: bool = False) -> list[RowVerdict]:
    """One verdict per task and group that both sides scored (optionally only the named ones).

    any_change: for deterministic runs (the demo), a row fails when its score moved by more than
    max_drop in either direction; no interval, since the same code gives the same scores.
    """
    if not candidate.is_dir():
        raise InputError(f"candidate {candidate} must be a run dir (its per-sample scores give the interval)")
    cand = _summary(candidate)
    base = _summary(baseline, cand["model"])
    if base["suite"] != cand["suite"]:
        raise InputError(f"baseline is suite {base['suite']} but candidate is {cand['suite']}")
    suite = cand["suite"]
    base_scores, cand_scores = {**base["tasks"], **base["groups"]}, {**cand["tasks"], **cand["groups"]}
    if any_change:
        deltas = {r: Delta(cand_scores[r] - base_scores[r], cand_scores[r] - base_scores[r], cand_scores[r] - base_scores[r])
                  for r in cand_scores if r in base_scores}
    else:
        reference = _items(baseline) if baseline.is_dir() else dict(base["tasks"])
        groups = {**SUITES[suite], TOTAL[suite]: [t for ts in SUITES[suite].values() for t in ts]}
        deltas = paired_bootstrap(_items(candidate), reference, groups, iterations=iterations)
    if tasks and (unknown := [t for t in tasks if t not in deltas]):
        raise InputError(f"--tasks {', '.join(unknown)}: not scored in both runs (have {', '.join(sorted(deltas))})")
    rows = [r for r in deltas if not tasks or r in tasks]
    def failed(d: Delta) -> bool:
        return abs(d.delta) > max_drop if any_change else d.high < -max_drop

    return [RowVerdict(r, base_scores[r], cand_scores[r], deltas[r].delta, deltas[r].low, deltas[r].high, failed(deltas[r])) for r in rows if r in base_scores]


def verdict_json(rows: list[RowVerdict], max_drop: float) -> dict:
    return {"passed": not any(r.failed for r in rows), "max_drop": max_drop, "rows": [asdict(r) for r in rows]}
