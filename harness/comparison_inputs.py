"""What `lep-bench compare` compares: the embedded demo, an experiment YAML, or finished run dirs.

The first two run whatever is missing first (locally or on Ray); all three give the runs with their
roles and the report's name, folder, published tables, note, failures and speed record.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.backends import DEFAULT_BACKEND
from harness.compare import Experiment, load_experiment, run_experiment, run_speed
from harness.sweep import SweepIncomplete
from lep.errors import InputError


@dataclass
class ComparisonInputs:
    runs: list[tuple[Path, str]]  # run dir, reference | candidate
    name: str
    reports: Path
    published: list[str]
    note: str = ""
    incomplete: SweepIncomplete | None = None  # the runs that failed, when some did
    speed: dict[str, Any] | None = None

    def by_suite(self) -> dict[str, list[tuple[Path, str]]]:
        """The runs grouped by the suite they ran (one report per suite)."""
        groups: dict[str, list[tuple[Path, str]]] = {}
        for run_dir, role in self.runs:
            suite = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["suite"]
            groups.setdefault(suite, []).append((run_dir, role))
        return groups


@dataclass(frozen=True)
class SweepOptions:
    """The command line's choices for running an experiment (None: the experiment's own)."""

    backend: str | None = None
    executor: str | None = None
    address: str | None = None
    retries: int | None = None

    def given_for_ray(self) -> bool:
        return bool(self.executor or self.address or self.retries is not None)


def finished_runs(run_dirs: list[Path]) -> ComparisonInputs:
    """Finished run dirs, the first the reference."""
    missing = [p for p in run_dirs if not (p / "summary.json").is_file()]
    if missing:
        raise InputError(f"{missing[0]} is neither an experiment YAML nor a finished run dir (no summary.json)")
    return ComparisonInputs(
        [(p, "reference" if i == 0 else "candidate") for i, p in enumerate(run_dirs)], "comparison", Path("reports"), []
    )


def run_what_is_missing(
    experiment: Experiment, options: SweepOptions, progress: Callable[[str], None]
) -> ComparisonInputs:
    """Run the experiment's missing runs (a failed one is reported, not raised) and its speed measurement."""
    experiment.executor = options.executor or experiment.executor
    if experiment.executor != "ray" and (options.address or options.retries is not None):
        raise InputError(
            "--address and --retries are settings of the ray executor: add --executor ray (or executor: ray "
            "in the experiment)"
        )
    overrides: dict[str, Any] = {
        k: v for k, v in (("address", options.address), ("retries", options.retries)) if v is not None
    }
    experiment.ray = replace(experiment.ray, **overrides)
    try:
        runs, incomplete = run_experiment(experiment, progress=progress), None
    except SweepIncomplete as failed:
        runs, incomplete = failed.runs, failed
    speed = run_speed(experiment, progress)
    return ComparisonInputs(
        runs, experiment.name, experiment.reports, experiment.published, experiment.note, incomplete, speed
    )


def comparison_inputs(
    inputs: list[Path],
    options: SweepOptions,
    demo: dict[str, Any],
    console: Console,
    progress: Callable[[str], None],
) -> ComparisonInputs:
    """No inputs: the demo (`demo`: workdir, reports, profile); one YAML: that experiment; else run dirs."""
    if not inputs:
        from harness.demo import demo_experiment  # torch and the pipeline: only for the demo

        experiment = demo_experiment(
            demo["workdir"], demo["reports"], options.backend or DEFAULT_BACKEND, demo["profile"], console, progress
        )
    elif len(inputs) == 1 and inputs[0].is_file():
        experiment = load_experiment(inputs[0])
        experiment.backend = options.backend or experiment.backend
    else:
        if options.given_for_ray():
            raise InputError(
                "--executor, --address and --retries apply to an experiment YAML or the demo, not to finished run dirs"
            )
        return finished_runs(inputs)
    return run_what_is_missing(experiment, options, progress)
