"""`lep-bench gate`: did a candidate run lose quality against a baseline, beyond tolerance and noise?

The rule, chosen from benchmarks/gate_power.py (false alarms with no change, detection of drops of
0.01/0.02/0.05 at the ru-open and darumeru item counts; docs/statistics.md): a row (task,
group or total) fails when

  - its point drop exceeds max_drop AND the drop is significant: one-sided p < 0.05 from the same paired
    tests as the report (exact McNemar on 0/1 scores, the permutation test otherwise, harness/stats/
    estimates.py), Holm-corrected over all rows of the gate, or
  - its point drop exceeds max_drop and so few units differ that no outcome could reach p < 0.05: no test
    can tell such a drop from noise, so it is not waved through.

Where lower is better (bits per character: the task's YAML says `higher_is_better: false`), "drop" means a
rise: the paired test is taken the other way round, and the verdict says "rose".

With any_change (deterministic runs such as the demo) a row fails when its score moved by more than
max_drop either way. Rows or models of the baseline missing from the candidate fail, an empty
baseline fails, and the tokenizer's deterministic figures (characters/token on the FLORES devtest lep-bench ships,
ru/en parity, vocabulary size) fail on any change beyond TOKENIZER_TOLERANCE.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Strict

from harness.run.store import load_runs
from harness.shipped_text import held_out
from harness.stats.estimates import Delta, paired_comparison, suite_groups
from lep.atomic_write import write_json
from lep.content_digest import path_digest
from lep.errors import InputError, LepError
from lep.validation import (
    MAX_ITERATIONS,
    Fraction,
    Score,
    check_fields,
    check_output_file,
    problems_of,
    raise_problems,
)
from tasks_ru.suites import higher_is_better, suite_tasks

ALPHA = 0.05
TOKENIZER_TOLERANCE = 1e-9  # relative: the figures are deterministic, so any real change shows


@dataclass
class RowVerdict:
    row: str
    baseline: float | None
    candidate: float | None
    delta: float | None
    low: float | None
    high: float | None
    failed: bool
    n: int = 0
    p_drop: float | None = None  # one-sided p-value for "the candidate is worse", Holm-adjusted
    reason: str = ""


@dataclass
class GateResult:
    label: str
    rows: list[RowVerdict]
    problems: list[str] = field(default_factory=list)  # failures that are not score rows (missing, empty, tokenizer)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and not any(r.failed for r in self.rows)


class ScoredSummary(BaseModel):
    """A run's summary.json as the gate reads it: a suite and finite task and group scores."""

    model_config = ConfigDict(extra="allow")

    suite: Annotated[str, Strict()]
    tasks: dict[str, Score]
    groups: dict[str, Score]


class ModelsBaseline(BaseModel):
    """A baseline of several models (compare --write-baseline): model name -> its summary."""

    model_config = ConfigDict(extra="allow")

    models: dict[str, ScoredSummary]


MaxDrop = Fraction  # the tolerated move of a score, either direction
Iterations = Annotated[int, Strict(), Field(ge=1, le=MAX_ITERATIONS)]  # bootstrap iterations


@dataclass(frozen=True)
class GateOptions:
    """The tolerance and the bootstrap iterations, checked before any run is read."""

    max_drop: MaxDrop = 0.01
    iterations: Iterations = 1000


def option_problems(max_drop: float, iterations: int) -> list[str]:
    return problems_of(GateOptions, {"max_drop": max_drop, "iterations": iterations})


def _summary(path: Path) -> dict:
    """A run's summary.json, or a baseline file (a summary, or model name -> summary under 'models'), type-checked."""
    file = path / "summary.json" if path.is_dir() else path
    try:
        summary = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{file} is not a lep-bench run dir or summary JSON ({e})") from None
    if not isinstance(summary, dict):
        raise InputError(f"{file} is not a lep-bench run dir or summary JSON (not a mapping)")
    check_fields(ModelsBaseline if "models" in summary else ScoredSummary, summary, str(file))
    return summary


def load_baseline(path: Path) -> dict:
    """A baseline that has something to check: a gate over no scores would pass having checked nothing."""
    whole = _summary(path)
    entries = list(whole["models"].values()) if "models" in whole else [whole]
    if not entries or any(not entry["tasks"] and not entry["groups"] for entry in entries):
        raise InputError(
            f"baseline {path} holds no scores (an empty baseline gates nothing): write one with lep-bench compare "
            "--write-baseline"
        )
    return whole


def _baseline_for(baseline: dict, model: str) -> dict | None:
    return baseline["models"].get(model) if "models" in baseline else baseline


def tokenizer_figures(run_dir: Path) -> dict[str, float]:
    """The deterministic efficiency figures of a run's tokenizer on the FLORES devtest lep-bench ships."""
    spec = json.loads((run_dir / "provenance.json").read_text(encoding="utf-8"))["spec"]
    name = spec.get("tokenizer") or spec["path"]
    try:
        return dict(_figures(name))
    except (LepError, OSError, ValueError) as e:
        raise InputError(
            f"cannot measure the tokenizer {name} of run {run_dir} ({e}); is the model still at that path?"
        ) from None


@lru_cache(maxsize=1)
def sample_digest() -> str:
    """The text the tokenizer figures are measured on, as a digest: figures measured on other text (an older
    lep-bench's sample) are not compared with these."""
    return hashlib.sha256("".join(path_digest(held_out(lang)) for lang in ("ru", "en")).encode()).hexdigest()


@lru_cache(maxsize=8)
def _figures(name: str) -> tuple[tuple[str, float], ...]:
    from harness.tokenizers.bench import TokenizerBenchSpec, embedded_sample, measure  # torch: only when measuring

    report = measure(
        TokenizerBenchSpec(tokenizers=[name], corpora=embedded_sample().corpora, parallel=embedded_sample().parallel)
    )[0]
    return tuple(
        {
            "ru chars/token": report.languages["ru"].chars_per_token,
            "en chars/token": report.languages["en"].chars_per_token,
            "ru/en parity": float(report.parity_ru_en or 0.0),  # the shipped sample is parallel: never None
            "vocab size": float(report.vocab_size),
        }.items()
    )


def baseline_json(run_dirs: list[Path]) -> dict:
    """Scores (with their uncertainty) and tokenizer figures of several runs keyed by model: the file
    `lep-bench gate` and `compare --gate` read. Files without `tokenizer` (older) still load."""
    models = {}
    for run_dir in run_dirs:
        s = _summary(run_dir)
        models[s["model"]] = {k: s[k] for k in ("model", "suite", "tasks", "groups", "uncertainty") if k in s} | {
            "tokenizer": tokenizer_figures(run_dir),
            "tokenizer_text": sample_digest(),
        }
    return {"models": models}


def write_baseline(path: Path, run_dirs: list[Path]) -> None:
    """The runs' scores and tokenizer figures as a gate baseline (commit it after a deliberate change)."""
    write_json(path, baseline_json(run_dirs))


def _items(run_dir: Path) -> dict[str, dict[int, object]]:
    tables = load_runs([run_dir])
    return tables.score_items(next(iter(tables.summaries)))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error over the gate's rows)."""
    order = np.argsort(p)
    scaled = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(scaled, 1.0)
    return out


def decide(
    deltas: dict[str, Delta], max_drop: float, lower_is_better: frozenset[str] = frozenset()
) -> dict[str, tuple[bool, float, str]]:
    """The gate rule on paired deltas, each oriented so that negative is worse: row -> (failed, Holm-adjusted
    one-sided p of getting worse, reason). A row in `lower_is_better` got worse by rising."""
    rows = list(deltas)
    if not rows:
        return {}
    adjusted = holm(np.asarray([d.p_drop for d in deltas.values()]))
    out = {}
    for row, p in zip(rows, adjusted):
        d = deltas[row]
        moved = f"{'rose' if row in lower_is_better else 'dropped'} {-d.delta:.4f}"
        if d.delta >= -max_drop:
            out[row] = (False, float(p), "")
        elif not d.reachable:
            out[row] = (True, float(p), f"{moved} > {max_drop}, and {d.why_unknown()}")
        elif p < ALPHA:
            out[row] = (
                True,
                float(p),
                f"{moved} > {max_drop}, significant ({d.test}, one-sided p={p:.3g}, Holm over {len(rows)} rows)",
            )
        else:
            out[row] = (
                False,
                float(p),
                f"{moved} but within noise (one-sided p={p:.3g}, Holm over {len(rows)} rows)",
            )
    return out


def _tokenizer_problems(base: dict, candidate: Path, baseline_path: Path) -> tuple[list[str], list[str]]:
    expected = tokenizer_figures(baseline_path) if baseline_path.is_dir() else base.get("tokenizer")
    if not expected:
        return [], [
            f"tokenizer not gated: baseline {baseline_path} has no tokenizer figures (rewrite it with --write-baseline)"
        ]
    if not baseline_path.is_dir() and base.get("tokenizer_text") != sample_digest():
        return [], [
            f"tokenizer not gated: baseline {baseline_path} measured its tokenizer figures on other text than this "
            "lep-bench's held-out sample (rewrite it with --write-baseline)"
        ]
    found = tokenizer_figures(candidate)
    problems = [
        f"tokenizer {name} changed: {expected[name]:.6g} → {found.get(name, float('nan')):.6g}"
        for name in expected
        if not np.isclose(found.get(name, np.nan), expected[name], rtol=TOKENIZER_TOLERANCE, atol=0)
    ]
    return problems, []


def _any_change_rows(
    rows: list[str], base: dict[str, float], cand: dict[str, float], max_drop: float
) -> list[RowVerdict]:
    """Deterministic runs: a row fails when its score moved by more than max_drop, either way."""
    verdicts = []
    for r in rows:
        moved = cand[r] - base[r]
        reason = f"moved {moved:+.4f}, beyond ±{max_drop}" if abs(moved) > max_drop else ""
        verdicts.append(RowVerdict(r, base[r], cand[r], moved, moved, moved, abs(moved) > max_drop, reason=reason))
    return verdicts


def _drop_rows(
    deltas: dict[str, Delta],
    base: dict[str, float],
    cand: dict[str, float],
    max_drop: float,
    lower_is_better: frozenset[str],
) -> list[RowVerdict]:
    """Noisy runs: `decide`'s verdict on each row's oriented paired delta, shown as candidate − baseline."""
    verdicts = decide(deltas, max_drop, lower_is_better)
    rows = []
    for r, d in deltas.items():
        delta, low, high = (-d.delta, -d.high, -d.low) if r in lower_is_better else (d.delta, d.low, d.high)
        rows.append(RowVerdict(r, base[r], cand[r], delta, low, high, verdicts[r][0], d.n, *verdicts[r][1:]))
    return rows


def gate(
    baseline: Path,
    candidate: Path,
    max_drop: float = 0.01,
    tasks: list[str] | None = None,
    iterations: int = 1000,
    any_change: bool = False,
    json_out: Path | None = None,
) -> GateResult:
    """One verdict per task and group of the baseline (optionally only the named ones), plus the
    failures that are not score rows: a missing model or row, an empty baseline, a changed tokenizer;
    also written as JSON to `json_out` when given (`lep-bench gate --json`)."""
    raise_problems("gate", option_problems(max_drop, iterations))
    if json_out is not None:
        check_output_file(json_out, "--json")
    result = _verdict(baseline, candidate, max_drop, tasks, iterations, any_change)
    if json_out is not None:
        write_json(json_out, verdict_json([result], max_drop))
    return result


def _verdict(
    baseline: Path, candidate: Path, max_drop: float, tasks: list[str] | None, iterations: int, any_change: bool
) -> GateResult:
    """The verdict of `gate`: one row per task and group of the baseline, and the problems that are no row."""
    if not candidate.is_dir():
        raise InputError(f"candidate {candidate} must be a run dir (its per-sample scores give the interval)")
    cand = _summary(candidate)
    model = cand["model"]
    whole = load_baseline(baseline)
    base = _baseline_for(whole, model)
    if base is None:
        return GateResult(
            model,
            [],
            [
                f"baseline {baseline} has no entry for model {model}: add it (compare --write-baseline) or "
                "gate another baseline"
            ],
        )
    if base["suite"] != cand["suite"]:
        raise InputError(f"baseline is suite {base['suite']} but candidate is {cand['suite']}")
    base_scores, cand_scores = {**base["tasks"], **base["groups"]}, {**cand["tasks"], **cand["groups"]}
    if tasks and (unknown := [t for t in tasks if t not in base_scores]):
        raise InputError(f"--tasks {', '.join(unknown)}: not in the baseline (it has {', '.join(sorted(base_scores))})")
    wanted = [r for r in base_scores if not tasks or r in tasks]
    present = [r for r in wanted if r in cand_scores]
    if any_change:
        rows = _any_change_rows(present, base_scores, cand_scores, max_drop)
    else:
        suite = cand["suite"]
        groups = suite_groups(suite)
        lower = frozenset(r for r in (*suite_tasks(suite), *groups) if not higher_is_better(suite, r))
        reference = _items(baseline) if baseline.is_dir() else dict(base["tasks"])
        found = paired_comparison(_items(candidate), reference, groups, iterations, lower_is_better=lower)
        rows = _drop_rows({r: found[r] for r in present if r in found}, base_scores, cand_scores, max_drop, lower)
    scored = {row.row for row in rows}
    rows += [
        RowVerdict(r, base_scores[r], None, None, None, None, True, reason="missing from the candidate run")
        for r in wanted
        if r not in scored
    ]
    problems, notes = _tokenizer_problems(base, candidate, baseline)
    return GateResult(model, rows, problems, notes)


def gate_runs(
    baseline: Path, run_dirs: list[Path], max_drop: float, iterations: int, any_change: bool = True
) -> list[GateResult]:
    """Every run against its model's baseline entry, plus a failure for each baseline model with no run."""
    results = [
        gate(baseline, run_dir, max_drop=max_drop, iterations=iterations, any_change=any_change) for run_dir in run_dirs
    ]
    known = _summary(baseline).get("models")
    if known is not None:
        ran = {_summary(d)["model"] for d in run_dirs}
        results += [
            GateResult(m, [], [f"baseline model {m} has no run in this comparison"]) for m in known if m not in ran
        ]
    return results


def verdict_json(results: list[GateResult], max_drop: float) -> dict:
    return {
        "passed": all(r.passed for r in results),
        "max_drop": max_drop,
        "rows": [asdict(row) | {"model": r.label} for r in results for row in r.rows],
        "problems": [f"{r.label}: {p}" for r in results for p in r.problems],
    }
