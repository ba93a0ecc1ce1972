"""`lep-bench compare`: an experiment config (or finished run dirs) → one comparison of models.

The comparison holds measured scores (tasks, groups, total), each model's paired-bootstrap deltas
against each reference, efficiency (tokenizer; generation speed from a `lep-bench speed` run), the
paper's published rows (shown apart, never used in statistics), warnings when runs are not like for
like, and disagreement examples.
"""

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.backends import DEFAULT_BACKEND, BackendSettings, resolve_backend
from harness.bootstrap import Delta, Estimate, adjust, comparison_statistics, suite_groups
from harness.evaluation import PromptSettings
from harness.experiment_file import ExperimentFile
from harness.gate import load_baseline, option_problems
from harness.gguf_import import NAMED_MODELS
from harness.model_spec import ModelSpec, validate
from harness.runner import RunRequest, check_request, run
from harness.speed import SpeedSettings, load_speed, measure_speed
from harness.store import RunTables, load_runs
from harness.sweep import Job, RaySettings, Resources, resources_from_entry, run_sweep, settings_from_config
from lep.errors import InputError
from lep.reference_sources import REFERENCE_NAMES
from lep.validation import check_fields, check_output_dir, problems_of, raise_problems, safe_name
from tasks_ru.suites import suite_tasks

ROLES = ("reference", "baseline", "candidate")
SHOT_SETTINGS = ("kind", "shots", "num_fewshot", "choice_shots")  # differ by design between base and instruct runs
PUBLISHED_CITATION = (
    "Tikhomirov & Chernyshev 2024, Facilitating large language model Russian adaptation with Learned Embedding "
    "Propagation, arXiv:2412.21140"
)
PUBLISHED_COLUMNS = {
    "micro_avg": "Micro-Avg",
    "daru_mmlu": "DaruMMLU",
    "daru_mera": "DaruMERA",
    "daru_sum": "DaruSum",
    "daru_copy_en": "DaruCopy EN",
    "daru_copy_ru": "DaruCopy RU",
}


@dataclass
class Experiment:
    name: str
    models: list[tuple[ModelSpec, str]]  # (spec, role)
    suites: list[str]
    backend: str = DEFAULT_BACKEND
    enforce_eager: bool = False  # vllm, vllm-server: skip torch.compile (pays off only for short runs)
    data_dir: Path | None = None
    limit: int | None = None
    shots: int | None = None  # few-shot examples; None: 5 for base models, 0 for instruct (the paper's setting)
    choice_shots: int | None = None  # few-shot examples of choice tasks; None: as `shots`
    runs: Path = Path("runs")
    reports: Path = Path("reports")
    published: list[str] = field(default_factory=list)  # table names of reference_scores.csv, e.g. table1
    note: str = ""  # shown at the top of the report (e.g. "demo-scale models")
    tasks: tuple[str, ...] = ()  # a subset of the suites' tasks (smoke sweeps); empty = all
    executor: str = "local"  # local: one run after another here; ray: harness/sweep.py
    ray: RaySettings = field(default_factory=RaySettings)
    resources: dict[str, Resources] = field(default_factory=dict)  # model name -> what its Ray job asks for
    speed: SpeedSettings | None = None  # measure generation speed over the models (lep-bench speed)


def _resolve(base: Path, value: str) -> Path:
    return Path(value) if Path(value).is_absolute() else (base / value).resolve()


def _model_entries(
    entries: list[dict[str, Any]], base: Path, where: str
) -> tuple[list[tuple[ModelSpec, str]], dict[str, Resources]]:
    """(spec, role) pairs and each model's Ray resources; every bad entry is named in one error."""
    models: list[tuple[ModelSpec, str]] = []
    resources: dict[str, Resources] = {}
    problems: list[str] = []
    for number, entry in enumerate(entries, 1):
        entry = dict(entry)
        label = f"model {entry.get('name', number)}"
        resources[str(entry.get("name"))] = resources_from_entry(entry, where)
        role = entry.pop("role", "candidate")
        if role not in ROLES:
            problems.append(f"role {role!r} of {label} is not one of {', '.join(ROLES)}")
        for key in ("path", "tokenizer", "chat_template"):
            if isinstance(entry.get(key), str) and entry[key] not in REFERENCE_NAMES and entry[key] not in NAMED_MODELS:
                entry[key] = str(_resolve(base, entry[key]))
        if found := problems_of(ModelSpec, entry):
            problems += [f"{label}: {problem}" for problem in found]
        elif not problems:
            models.append((ModelSpec(**entry), role))
    raise_problems(where, problems)
    return models, resources


def load_experiment(path: Path) -> Experiment:
    """Read and check an experiment YAML (every problem at once); relative paths resolve against its folder."""
    where = f"experiment config {path}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise InputError(f"{where} cannot be read: {' '.join(str(e).split())}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{where}: needs a 'models' list (each: name, path, kind, role)")
    checked = check_fields(ExperimentFile, raw, where)
    base = path.resolve().parent
    models, resources = _model_entries(checked.models, base, where)
    suites, tasks = checked.suites, tuple(checked.tasks)
    problems = [
        f"published table {t!r} is not one of {', '.join(published_tables())}"
        for t in checked.published
        if t not in published_tables()
    ]
    if unknown_tasks := [t for t in tasks if not any(t in suite_tasks(s) for s in suites)]:
        problems.append(f"task(s) {', '.join(unknown_tasks)} are in none of the suites {', '.join(suites)}")
    if tasks and (untouched := [s for s in suites if not set(tasks) & set(suite_tasks(s))]):
        problems.append(f"'tasks' lists none of suite {', '.join(untouched)}'s tasks; list some or drop the suite")
    raise_problems(where, problems)
    executor, ray = settings_from_config(raw, where)
    return Experiment(
        name=checked.name or safe_name(path.stem, "experiment name (the config's file name)"),
        models=models,
        suites=suites,
        backend=checked.backend,
        enforce_eager=checked.enforce_eager,
        data_dir=_resolve(base, checked.data_dir) if checked.data_dir else None,
        limit=checked.limit,
        shots=checked.shots,
        choice_shots=checked.choice_shots,
        runs=_resolve(base, checked.runs),
        reports=_resolve(base, checked.reports),
        published=checked.published,
        note=checked.note,
        tasks=tasks,
        executor=executor,
        ray=ray,
        resources=resources,
        speed=_speed_settings(raw.get("speed"), where),
    )


def _speed_settings(value: Any, where: str) -> SpeedSettings | None:
    """`speed: {}` (defaults) or a mapping of SpeedSettings fields (the schema checked it is one); absent: none."""
    return None if value is None else SpeedSettings.from_mapping(value, where)


def check_report_options(
    name: str | None,
    reports: Path | None,
    published: list[str] | None,
    iterations: int,
    max_drop: float,
    gate: Path | None,
) -> None:
    """compare's own options (all problems at once) and its --gate baseline, before any run or report."""
    problems = option_problems(max_drop, iterations)
    if published is not None:
        problems += [
            f"--published {t!r} is not one of {', '.join(published_tables())}"
            for t in published
            if t not in published_tables()
        ]
    raise_problems("compare", problems)
    if name is not None:
        safe_name(name, "--name")
    if reports is not None:
        check_output_dir(reports, "--reports")
    if gate is not None:
        load_baseline(gate)


def run_speed(experiment: Experiment, progress: Callable[[str], None] = print) -> dict[str, Any] | None:
    """The experiment's speed run (measured, or reused when nothing changed), or None when it asks for none."""
    if experiment.speed is None:
        return None
    specs = [spec for spec, _ in experiment.models]
    return load_speed(measure_speed(specs, experiment.speed, experiment.runs, experiment.data_dir, progress=progress))


def run_experiment(experiment: Experiment, progress: Callable[[str], None] = print) -> list[tuple[Path, str]]:
    """Run (or reuse) every model × suite, here or on Ray; returns (run dir, role) pairs in config order.

    The ray executor raises harness.sweep.SweepIncomplete (holding the finished runs) when runs failed."""
    requests = []
    for suite in experiment.suites:
        tasks = tuple(t for t in experiment.tasks if t in suite_tasks(suite))
        for spec, role in experiment.models:
            parallel = max(1, experiment.resources.get(spec.name, Resources()).tensor_parallel_size)
            backend = BackendSettings(
                backend=resolve_backend(experiment.backend, spec),
                tensor_parallel_size=parallel,
                enforce_eager=experiment.enforce_eager,
            )
            request = RunRequest(
                spec=spec,
                suite=suite,
                backend=backend,
                out=experiment.runs,
                data_dir=experiment.data_dir,
                prompts=PromptSettings(
                    kind=spec.kind,
                    num_fewshot=experiment.shots,
                    choice_shots=experiment.choice_shots,
                    limit=experiment.limit,
                ),
                tasks=tasks,
            )
            requests.append((request, role))
    if experiment.executor == "ray":
        experiment.ray.check()  # settings given on the command line, before any model file is read
    for request, _ in requests:  # every model's settings and files, before the first run starts
        check_request(request)
    for spec, _ in experiment.models:
        validate(spec)
    if experiment.executor == "ray":
        return run_sweep(
            [
                Job(request, role, experiment.resources.get(request.spec.name, Resources()))
                for request, role in requests
            ],
            experiment.ray,
        )
    return [(run(request, progress=progress), role) for request, role in requests]


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


def _published_table() -> list[dict[str, str]]:
    path = Path(str(files("harness").joinpath("reference_scores.csv")))
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def published_tables() -> list[str]:
    """The names `published:` / `--published` accept (the paper's tables in reference_scores.csv)."""
    return sorted({row["source"] for row in _published_table()})


def _published_rows(tables: list[str]) -> pd.DataFrame:
    rows = [r for r in _published_table() if r["source"] in tables]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["label"] = frame.apply(
        lambda r: " ".join(
            x
            for x in (r["model"], r["vocab"], r["method_or_data"])
            if x not in ("original", "-", "–", "Original model")
        ),
        axis=1,
    )
    frame = frame.rename(columns=PUBLISHED_COLUMNS)
    return frame[["source", "label", "shots", *PUBLISHED_COLUMNS.values()]]


def _like_for_like(provenance: dict[str, dict], tables: RunTables) -> list[str]:
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
                    "outputs": {first: _shown(a["output"]), second: _shown(b["output"])},
                }
            )
            if len(out[task]) >= limit:
                break
    return out


def _shown(response) -> str:
    if isinstance(response, list) and response and isinstance(response[0], list):  # choice: log-likelihoods
        scores = [r[0] for r in response]
        return f"option {scores.index(max(scores))} (log-probs {', '.join(f'{s:.2f}' for s in scores)})"
    return str(response[0] if isinstance(response, list) and response else response)[:600]


def _efficiency(provenance: dict[str, dict], summaries: dict[str, dict], reference: str) -> pd.DataFrame:
    """Tokenizer efficiency on the embedded parallel sample, NSL vs the reference's tokenizer, generated chars/token."""
    from harness.tokenizer_bench import TokenizerBenchSpec, embedded_sample, measure  # torch: only when measuring

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
        published=_published_rows(published or []),
        provenance=provenance,
        warnings=_like_for_like(provenance, tables),
        examples=_examples(tables, models),
        note=note,
        speed=speed,
    )
