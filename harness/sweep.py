"""An experiment's runs: every model × suite, run here one after another (executor local) or each as a Ray task
(executor ray, harness/ray_executor.py), each reused from the run store when nothing changed; and its speed run.

Every request and every model's files are checked before the first run starts, so a mistake in the last model
of a sweep is one line now, not an hour into it.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.experiment import ExperimentConfig, ModelEntry
from harness.ray_executor import Job, JobStates, run_sweep
from harness.run.backends import BackendSettings
from harness.run.evaluation import PromptSettings
from harness.run.model_spec import validate
from harness.run.request import RunRequest, check_request
from harness.run.runner import run
from harness.speed.measure import load_speed, measure_speed
from tasks_ru.suites import suite_tasks

Progress = Callable[[str], None]


def experiment_requests(experiment: ExperimentConfig) -> list[tuple[RunRequest, ModelEntry]]:
    """One run request per suite × model, in config order (suite by suite), each with its model's entry."""
    requests = []
    specs = experiment.resolved_specs()
    for suite in experiment.suites:
        tasks = tuple(t for t in experiment.tasks if t in suite_tasks(suite))
        for entry, spec in zip(experiment.models, specs):
            backend = BackendSettings(
                backend=experiment.backend,
                tensor_parallel_size=max(1, entry.tensor_parallel_size),
                enforce_eager=experiment.enforce_eager,
                batch_size=experiment.batch_size,
                num_concurrent=experiment.num_concurrent,
            )
            prompts = PromptSettings(
                num_fewshot=experiment.shots, choice_shots=experiment.choice_shots, limit=experiment.limit
            )
            request = RunRequest.for_model(spec, suite, backend, prompts, experiment.runs, experiment.data_dir, tasks)
            requests.append((request, entry))
    return requests


def run_experiment(
    experiment: ExperimentConfig, progress: Progress = lambda _: None, on_jobs: JobStates = lambda _: None
) -> list[tuple[Path, str]]:
    """Run (or reuse) every model × suite, here or on Ray; returns (run dir, role) pairs in config order.

    The ray executor raises harness.ray_executor.SweepIncomplete (holding the finished runs) when runs failed."""
    requests = experiment_requests(experiment)
    for request, _ in requests:  # every run's settings, then every model's files, before the first run starts
        check_request(request)
    for spec in {request.spec.name: request.spec for request, _ in requests}.values():
        validate(spec)
    if experiment.executor == "ray":
        jobs = [Job(request, entry.role, entry.resources, request.run_dir()) for request, entry in requests]
        return run_sweep(jobs, experiment.ray, progress, on_jobs)
    return [(run(request, progress=progress), entry.role) for request, entry in requests]


def run_speed(experiment: ExperimentConfig, progress: Progress = lambda _: None) -> dict[str, Any] | None:
    """The experiment's speed run (measured, or reused when nothing changed), or None when it asks for none."""
    if experiment.speed is None:
        return None
    specs = experiment.resolved_specs()
    return load_speed(measure_speed(specs, experiment.speed, experiment.runs, experiment.data_dir, progress=progress))
