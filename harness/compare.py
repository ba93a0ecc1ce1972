"""`lep-bench compare` as one call: what is compared (the embedded demo, an experiment YAML, or finished run
dirs), the runs it is missing (local or on Ray) and its speed run, one report per suite, then the gate
baseline it writes and the gate it passes or fails. The caller gets a CompareOutcome and decides what to print
and which exit status it means; every option and output path is checked before any model is touched.
"""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Strict

from harness.demo.profiles import DEFAULT_PROFILE, DEMO_PROFILES
from harness.experiment import EXECUTORS, ExperimentConfig, PublishedTable, load_experiment
from harness.gate import GateResult, Iterations, MaxDrop, gate_runs, load_baseline, write_baseline
from harness.ray_executor import JobStates, SweepIncomplete
from harness.report.comparison import Comparison, build_comparison
from harness.report.report import write_report
from harness.run.backends import BACKENDS
from harness.sweep import run_experiment, run_speed
from lep.errors import InputError
from lep.validation import (
    NonNegativeInt,
    PathComponent,
    check_output_dir,
    check_output_file,
    problems_of,
    raise_problems,
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CompareOptions:
    """`lep-bench compare`'s options; None: the experiment's own (or the demo's) choice."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    name: PathComponent | None = None  # the report's folder name
    reports: Path | None = None  # the reports folder
    published: list[PublishedTable] | None = None  # the paper's tables to show
    iterations: Iterations = 1000  # bootstrap iterations
    max_drop: MaxDrop = 0.01  # the gate's tolerance, either direction
    gate: Path | None = None  # a baseline JSON to gate the runs against (--gate)
    write_baseline: Path | None = None  # write the runs' scores here as a gate baseline
    backend: Literal[("auto", *BACKENDS)] | None = None  # type: ignore[valid-type]
    executor: Literal[EXECUTORS] | None = None  # type: ignore[valid-type]
    address: Annotated[str, Strict()] | None = None  # ray: the cluster
    retries: NonNegativeInt | None = None  # ray: further attempts of a failed job
    profile: Literal[tuple(DEMO_PROFILES)] = DEFAULT_PROFILE  # type: ignore[valid-type]  # demo only
    workdir: Path = Path("out/demo")  # demo only: where its models and runs go

    def experiment_overrides(self) -> dict[str, Any]:
        """What the command line replaces in an experiment: its backend, executor and Ray settings."""
        ray = {k: v for k, v in (("address", self.address), ("retries", self.retries)) if v is not None}
        chosen = {"backend": self.backend, "executor": self.executor}
        return {k: v for k, v in chosen.items() if v is not None} | ({"ray": ray} if ray else {})


@dataclass
class SuiteReport:
    """One suite's report: where it was written and what it shows."""

    folder: Path
    html: Path
    comparison: Comparison


@dataclass
class CompareOutcome:
    reports: list[SuiteReport]
    baseline: Path | None = None  # the gate baseline written, if asked for
    gate: list[GateResult] = field(default_factory=list)  # one verdict per run (and per missing baseline model)
    gated: bool = False
    incomplete: SweepIncomplete | None = None  # the runs that failed, when some did

    @property
    def gate_passed(self) -> bool:
        return all(result.passed for result in self.gate)


@dataclass
class _Compared:
    """What one compare covers: (run dir, role) pairs and how its report is named and annotated."""

    runs: list[tuple[Path, str]]
    name: str
    reports: Path
    published: list[str]
    note: str = ""
    incomplete: SweepIncomplete | None = None
    speed: dict[str, Any] | None = None
    speed_skipped: bool = False  # the experiment measures speed, and this gate run left it out

    def by_suite(self) -> dict[str, list[tuple[Path, str]]]:
        """The runs grouped by the suite they ran (one report per suite)."""
        groups: dict[str, list[tuple[Path, str]]] = {}
        for run_dir, role in self.runs:
            suite = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["suite"]
            groups.setdefault(suite, []).append((run_dir, role))
        return groups


def _finished_runs(run_dirs: list[Path], options: CompareOptions) -> _Compared:
    """Finished run dirs, the first the reference."""
    if options.executor or options.address or options.retries is not None:
        raise InputError(
            "--executor, --address and --retries apply to an experiment YAML or the demo, not to finished run dirs"
        )
    if missing := [p for p in run_dirs if not (p / "summary.json").is_file()]:
        raise InputError(f"{missing[0]} is neither an experiment YAML nor a finished run dir (no summary.json)")
    roles = ["reference"] + ["candidate"] * (len(run_dirs) - 1)
    return _Compared(list(zip(run_dirs, roles)), "comparison", options.reports or Path("reports"), [])


def _experiment(inputs: list[Path], options: CompareOptions, progress: Progress) -> ExperimentConfig:
    """The experiment to run: the demo's (its models built first) or the YAML's, with the command line's choices."""
    overrides = options.experiment_overrides()
    if inputs:
        experiment = load_experiment(inputs[0], overrides=overrides)
    else:
        from harness.demo.build import demo_experiment  # torch and the pipeline: only for the demo

        reports = (options.reports or Path("reports")).resolve()
        check_output_dir(options.workdir, "--workdir")
        check_output_dir(reports, "--reports")
        experiment = demo_experiment(options.profile, options.workdir, overrides | {"reports": reports}, progress)
    if experiment.executor != "ray" and (options.address or options.retries is not None):
        raise InputError(
            "--address and --retries are settings of the ray executor: add --executor ray (or executor: ray in the "
            "experiment)"
        )
    return experiment


def _run(experiment: ExperimentConfig, options: CompareOptions, progress: Progress, on_jobs: JobStates) -> _Compared:
    """Run the experiment's missing runs (failed ones are reported, not raised) and its speed measurement, which a
    gate run leaves out: the gate reads scores and tokenizer figures, never speed, and it cost CI minutes."""
    check_output_dir(options.reports or experiment.reports, "--reports")
    try:
        runs, incomplete = run_experiment(experiment, progress, on_jobs), None
    except SweepIncomplete as failed:
        runs, incomplete = failed.runs, failed
    gated = options.gate is not None
    speed = None if gated else run_speed(experiment, progress)
    return _Compared(
        runs,
        experiment.name or "comparison",
        options.reports or experiment.reports,
        experiment.published,
        experiment.note,
        incomplete,
        speed,
        speed_skipped=gated and experiment.speed is not None,
    )


def compare(
    inputs: list[Path],
    options: CompareOptions,
    progress: Progress = lambda _: None,
    on_jobs: JobStates = lambda _: None,
) -> CompareOutcome:
    """No inputs: the demo (options.profile); one YAML file: that experiment; else finished run dirs, the first the
    reference. Reports go to <reports>/<name> (<name>/<suite> when the runs cover several suites)."""
    raise_problems("compare", problems_of(CompareOptions, asdict(options)))
    if options.reports is not None:
        check_output_dir(options.reports, "--reports")
    if options.write_baseline is not None:
        check_output_file(options.write_baseline, "--write-baseline")
    if options.gate is not None:
        load_baseline(options.gate)
    if len(inputs) <= 1 and all(path.is_file() for path in inputs):
        compared = _run(_experiment(inputs, options, progress), options, progress, on_jobs)
    else:
        compared = _finished_runs(inputs, options)
    name = options.name or compared.name
    published = compared.published if options.published is None else options.published
    by_suite = compared.by_suite()
    failures = compared.incomplete.failures if compared.incomplete else []
    outcome = CompareOutcome([], incomplete=compared.incomplete)
    for suite, suite_runs in by_suite.items():
        folder = compared.reports / name if len(by_suite) == 1 else compared.reports / name / suite
        comparison = build_comparison(name, suite_runs, published, options.iterations, compared.note, compared.speed)
        comparison.speed_skipped = compared.speed_skipped
        comparison.warnings += [f.report_line() for f in failures if f.suite == suite]
        outcome.reports.append(SuiteReport(folder, write_report(comparison, folder), comparison))
    run_dirs = [run for run, _ in compared.runs]
    if options.write_baseline is not None:
        write_baseline(options.write_baseline, run_dirs)
        outcome.baseline = options.write_baseline
    if options.gate is not None:
        outcome.gate = gate_runs(options.gate, run_dirs, options.max_drop, options.iterations, any_change=True)
        outcome.gated = True
    return outcome
