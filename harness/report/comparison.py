"""What a report shows, from finished runs of one suite: measured scores (tasks, groups, total), each model's
paired-bootstrap deltas against each reference, efficiency (tokenizer; generation speed from a `lep-bench speed`
run), the paper's published rows (shown apart, never used in statistics), warnings when runs are not like for
like, and disagreement examples.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.report.published import published_rows
from harness.run.store import RunTables, load_runs
from harness.stats.estimates import Delta, Estimate, adjust, comparison_statistics, suite_groups
from lep.errors import InputError

SHOT_SETTINGS = ("kind", "shots", "num_fewshot", "choice_shots")  # differ by design between base and instruct runs


@dataclass
class Comparison:
    name: str
    suite: str
    runs: list[tuple[Path, str]]
    tables: RunTables
    scores: pd.DataFrame  # rows: tasks, groups, total; columns: model names
    intervals: dict[str, dict[str, Estimate]]  # model -> row -> score with SE, 95% interval, n
    deltas: dict[
        tuple[str, str], dict[str, Delta]
    ]  # (model, reference) -> row -> Delta (p BH-adjusted over all of them)
    efficiency: pd.DataFrame  # one row per model
    published: pd.DataFrame  # the paper's rows (may be empty)
    provenance: dict[str, dict]  # model -> provenance.json
    warnings: list[str]
    examples: dict[str, list[dict]]  # task -> disagreement examples
    note: str = ""
    speed: dict[str, Any] | None = None  # a speed.json record (lep-bench speed) over these models
    speed_skipped: bool = False  # a gate run left the experiment's speed run out

    def first_reference(self) -> str:
        """The reference the Δ matrix, its figure and the verdict compare against: the first comparison's."""
        return next(iter(self.deltas))[1]


def _comparability_warnings(provenance: dict[str, dict], tables: RunTables) -> list[str]:
    """Warnings where runs differ in backend, settings or data (scores then are not comparable)."""
    warnings = []
    for key in ("backend", "prompts"):
        seen = {
            model: json.dumps(
                {k: v for k, v in p["settings"][key].items() if k not in SHOT_SETTINGS},
                sort_keys=True,
            )
            for model, p in provenance.items()
        }
        if len(set(seen.values())) > 1:
            detail = "; ".join(f"{m}: {v}" for m, v in seen.items())
            warnings.append(f"runs differ in {key} settings, so score differences include that change: {detail}")
    for task, group in tables.tasks.groupby("task"):
        if group["data_hash"].nunique() > 1:
            warnings.append(f"{task}: the models were scored on different data (data hashes differ)")
    return warnings


def _examples(tables: RunTables, models: list[str], limit: int = 3) -> dict[str, list[dict]]:
    """Up to `limit` items per task where the first two models' outputs differ."""
    if len(models) < 2:
        return {}
    first, second = models[:2]
    samples = tables.samples.set_index(["label", "task", "doc_id"]).sort_index()
    out: dict[str, list[dict]] = {}
    for task in sorted(set(tables.samples["task"])):
        if (first, task) not in samples.index or (second, task) not in samples.index:
            continue
        mine, theirs = samples.loc[(first, task)], samples.loc[(second, task)]
        for doc_id in mine.index.intersection(theirs.index):
            a, b = mine.loc[doc_id], theirs.loc[doc_id]
            if str(a["output"]).strip() == str(b["output"]).strip():
                continue
            out.setdefault(task, []).append(
                {
                    "doc_id": int(doc_id),
                    "prompt": a["prompt"][-600:],
                    "target": str(a["target"])[:300],
                    "outputs": {first: _response_text(a["output"]), second: _response_text(b["output"])},
                }
            )
            if len(out[task]) >= limit:
                break
    return out


def _response_text(response) -> str:
    if isinstance(response, list) and response and isinstance(response[0], list):
        if all(isinstance(sample, str) for sample in response[0]):  # several samples of a prompt (IFEval, paper)
            return f"{response[0][0][:600]} (the first of {len(response[0])} samples)"
        scores = [r[0] for r in response]  # choice: log-likelihoods
        return f"option {scores.index(max(scores))} (log-probs {', '.join(f'{s:.2f}' for s in scores)})"
    return str(response[0] if isinstance(response, list) and response else response)[:600]


def _efficiency(provenance: dict[str, dict], summaries: dict[str, dict], reference: str) -> pd.DataFrame:
    """Tokenizer efficiency on the held-out parallel sample lep-bench ships (FLORES-200 devtest), NSL vs the
    reference's tokenizer, generated chars/token."""
    from harness.tokenizers.bench import TokenizerBenchSpec, embedded_sample, measure  # torch: only when measuring

    tokenizers = {m: p["spec"]["tokenizer"] or p["spec"]["path"] for m, p in provenance.items()}
    # the reference is one of the models, so its tokenizer is in the list and measure() keeps this order
    spec = TokenizerBenchSpec(
        tokenizers=list(dict.fromkeys(tokenizers.values())),
        corpora=embedded_sample().corpora,
        reference=tokenizers[reference],
    )
    reports = dict(zip(spec.tokenizers, measure(spec)))
    rows = []
    for model, tokenizer in tokenizers.items():
        report, speed = reports[tokenizer], summaries[model]["speed"]
        rows.append(
            {
                "model": model,
                "ru chars/token": report.languages["ru"].chars_per_token,
                "en chars/token": report.languages["en"].chars_per_token,
                "NSL ru vs reference": report.nsl.get("ru"),
                "ru generated chars/token": speed.get("ru_generated_chars_per_token"),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def build_comparison(
    name: str,
    runs: list[tuple[Path, str]],
    published: list[str] | None = None,
    iterations: int = 1000,
    note: str = "",
    speed: dict[str, Any] | None = None,
) -> Comparison:
    """Everything the report shows, from finished run dirs of one suite (the first reference is NSL's base)."""
    tables = load_runs([r for r, _ in runs])
    suites = set(tables.tasks["suite"])
    if len(suites) != 1:
        raise InputError(f"compare one suite at a time; these runs cover {', '.join(sorted(suites))}")
    suite = suites.pop()
    summaries, provenance = tables.summaries, tables.provenance
    models = list(summaries)
    roles = dict(zip(models, (role for _, role in runs)))
    references = [m for m in models if roles[m] in ("reference", "baseline")] or models[:1]
    scores = pd.DataFrame({m: {**s["tasks"], **s["groups"]} for m, s in summaries.items()})
    groups = suite_groups(suite)
    items = {m: tables.score_items(m) for m in models}
    pairs = [(m, ref) for ref in references for m in models if m != ref]
    intervals, deltas = comparison_statistics(items, pairs, groups, iterations=iterations)
    deltas = adjust(deltas)
    return Comparison(
        name=name,
        suite=suite,
        runs=runs,
        tables=tables,
        scores=scores,
        intervals=intervals,
        deltas=deltas,
        efficiency=_efficiency(provenance, summaries, references[0]),
        published=published_rows(published or []),
        provenance=provenance,
        warnings=_comparability_warnings(provenance, tables),
        examples=_examples(tables, models),
        note=note,
        speed=speed,
    )
