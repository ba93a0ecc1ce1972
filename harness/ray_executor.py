"""The Ray executor of an experiment (`executor: ray`): each (model, suite) run missing from the store is one Ray task.

Why Ray and not a scheduler of our own: sweeps of dozens of models outgrow one machine, and Ray already
places work where its GPUs are free, restarts tasks whose worker died and scales from one node to a
Slurm allocation. The run store (a path every node sees) stays the only point of coordination: a task
calls the same `harness.run.runner.run` as a local run, so it skips the tasks already in the store, and a
retried job resumes from what its earlier attempt finished. Each job appends its output to
`<run dir>/sweep.log`, so a failure is reported with its log tail even when its worker was killed.
"""

import contextlib
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.experiment import RaySettings, Resources
from harness.serving.environment import quiet_library_logs, scoped_environ
from harness.serving.server import log_tail
from lep.errors import InputError, LepError

if TYPE_CHECKING:  # the runner (lm-eval, torch) is imported when a job runs, not with the CLI
    from harness.run.request import RunRequest

LOG_NAME = "sweep.log"
JobStates = Callable[[dict[str, str]], None]  # job key ("model · suite") -> its state, every job at once
INSTALL_HINT = (
    "the ray executor needs Ray: ./setup.sh cpu,ray (or pip install 'lep-bench[ray]'), on every node of the cluster"
)


class SweepIncomplete(LepError):
    """Some jobs failed after their retries; `runs` are the finished ones (config order), `failures` the rest."""

    def __init__(self, runs: list[tuple[Path, str]], failures: list["JobFailure"]):
        self.runs, self.failures = runs, failures
        names = ", ".join(f"{f.model} on {f.suite}" for f in failures)
        super().__init__(
            f"the sweep is incomplete: {len(failures)} run(s) failed ({names}); the report covers the other models"
        )


@dataclass(frozen=True)
class JobFailure:
    model: str
    suite: str
    attempts: int
    error: str  # the last line of what went wrong
    log: Path
    log_tail: str

    def report_line(self) -> str:
        """How the report marks the missing model."""
        return (
            f"{self.model} is missing from this report: its {self.suite} run failed after {self.attempts} "
            f"attempt(s) ({self.error}); log: {self.log}"
        )


@dataclass(frozen=True)
class Job:
    """One model × suite run of the sweep; `run_dir` is the request's, computed once, on the driver."""

    request: "RunRequest"
    role: str
    resources: Resources
    run_dir: Path

    @property
    def key(self) -> str:
        return f"{self.request.spec.name} · {self.request.suite}"

    @property
    def log(self) -> Path:
        return self.run_dir / LOG_NAME

    def finished(self) -> bool:
        tasks = self.request.task_list()
        return (self.run_dir / "summary.json").is_file() and all(
            (self.run_dir / "tasks" / f"{t}.json").is_file() for t in tasks
        )


def import_ray():
    try:
        import ray
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return ray


class ProgressBoard:
    """A Ray actor the jobs report to; the driver reads it to draw one line per job."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.attempts: dict[str, int] = {}

    def started(self, key: str, where: str) -> int:
        self.attempts[key] = self.attempts.get(key, 0) + 1
        self.states[key] = f"starting (attempt {self.attempts[key]}, {where})"
        return self.attempts[key]

    def update(self, key: str, state: str) -> None:
        self.states[key] = state

    def snapshot(self) -> tuple[dict[str, str], dict[str, int]]:
        return dict(self.states), dict(self.attempts)


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors, so libraries' output too) to the job log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a", encoding="utf-8") as handle:
        os.dup2(handle.fileno(), 1), os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_job(request: "RunRequest", key: str, run_dir: Path, board) -> str:
    """The body of one Ray task: `runner.run` with its output in the job log; returns the run dir.

    An InputError (a mistake in the experiment) is returned as "error: ..." rather than raised: trying
    again cannot fix it. Anything else raises, and Ray tries the job again."""
    import ray

    from harness.run.runner import run

    quiet_library_logs()  # the job's entry point, as the CLI is the command's
    where = f"pid {os.getpid()} on {socket.gethostname()}"
    attempt = ray.get(board.started.remote(key, where))
    total = len(request.task_list())

    def progress(line: str) -> None:
        print(line, flush=True)
        done = len(list((run_dir / "tasks").glob("*.json")))
        task = line.rsplit(" · ", 1)[-1]
        board.update.remote(key, f"running task {min(done + 1, total)} of {total}: {task} (attempt {attempt}, {where})")

    with _output_to(run_dir / LOG_NAME):
        print(f"=== attempt {attempt} · {where} · {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
        try:
            return str(run(request, progress=progress))
        except InputError as error:
            traceback.print_exc()
            return f"error: {error}"
        except BaseException:
            traceback.print_exc()
            raise


@contextlib.contextmanager
def ray_cluster(settings: RaySettings, say: Callable[[str], None]) -> Iterator[Any]:
    """Connect to (or start) the Ray cluster; always disconnect, which stops a cluster we started."""
    ray = import_ray()
    no_calls_out = {"RAY_USAGE_STATS_ENABLED": os.environ.get("RAY_USAGE_STATS_ENABLED", "0")}
    with scoped_environ(no_calls_out), _connected(ray, settings, say) as connected:
        yield connected


@contextlib.contextmanager
def _connected(ray: Any, settings: RaySettings, say: Callable[[str], None]) -> Iterator[Any]:
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    own = {
        "address": "local",
        "num_cpus": settings.local_cpus,
        "include_dashboard": False,
        "_node_ip_address": "127.0.0.1",
        **quiet,
    }
    try:
        if settings.address is None:
            ray.init(**own)
        elif settings.address == "auto":
            try:
                ray.init(address="auto", **quiet)
            except ConnectionError:
                say("no Ray cluster is running on this machine: starting one for this sweep")
                ray.init(**own)
        else:
            ray.init(address=settings.address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as error:
        ray.shutdown()
        raise InputError(
            f"cannot connect to the Ray cluster at {settings.address}: {' '.join(str(error).split())[:300]}; "
            "start it (ray start --head) or fix --address"
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_placeable(ray, jobs: list[Job]) -> None:
    """Refuse, before submitting, a job that no node of the cluster could ever run (Ray would wait forever)."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    for job in jobs:
        need = job.resources
        if not any(n.get("CPU", 0) >= need.cpus and n.get("GPU", 0) >= need.tensor_parallel_size for n in nodes):
            largest = max(((n.get("GPU", 0), n.get("CPU", 0)) for n in nodes), default=(0, 0))
            raise InputError(
                f"model {job.request.spec.name} asks for {need.tensor_parallel_size} GPU(s) and {need.cpus} "
                "CPU(s), but the "
                f"largest node of the Ray cluster has {largest[0]:g} GPU(s) and {largest[1]:g} CPU(s); lower its "
                "tensor_parallel_size / cpus in the experiment (tensor_parallel_size: 0 is a CPU-only run) "
                "or add a node"
            )


def _collect(ray, ref: Any, job: Job, tries: int) -> tuple[Path | None, str | None, str]:
    """A finished Ray task's outcome: (its run dir, None, state) or (None, the error's last line, state)."""
    try:
        outcome: str = ray.get(ref)  # the run dir, or "error: ..." for a mistake no retry can fix
    except ray.exceptions.RayError as crash:
        outcome = f"error: {_last_line(crash)}"
    if outcome.startswith("error: "):
        error = outcome.removeprefix("error: ")
        return None, error, f"failed after {tries} attempt(s): {error}"
    state = f"done ({tries} attempt{'s' if tries > 1 else ''})"
    if Path(outcome) != job.run_dir:
        state += (
            f", but in {outcome}, not {job.run_dir}: that worker's lep-bench, task code or packages differ from this "
            "machine's"
        )
    return Path(outcome), None, state


def run_sweep(
    jobs: list[Job],
    settings: RaySettings,
    progress: Callable[[str], None] = lambda _: None,
    on_states: JobStates = lambda _: None,
) -> list[tuple[Path, str]]:
    """Run the jobs missing from the store as Ray tasks (their requests and models checked by the caller, as
    harness/sweep.py does); return (run dir, role) in job order.

    `on_states` gets every job's state (queued, running task k of n, done, failed) whenever one changes.
    Raises SweepIncomplete (carrying the finished runs and each failure's log tail) when a job still fails
    after its retries."""
    import_ray()
    states = {job.key: "done (reused from the store)" for job in jobs if job.finished()}
    todo = [job for job in jobs if job.key not in states]
    finished = {job.key: job.run_dir for job in jobs if job.key in states}
    failures: list[JobFailure] = []
    on_states({job.key: states.get(job.key, "queued") for job in jobs})
    if todo:
        with ray_cluster(settings, progress) as ray:
            _check_placeable(ray, todo)
            board = ray.remote(num_cpus=0)(ProgressBoard).remote()
            task = ray.remote(run_job)
            pending = {
                task.options(
                    **job.resources.ray_options(), max_retries=settings.retries, retry_exceptions=True, name=job.key
                ).remote(job.request, job.key, job.run_dir, board): job
                for job in todo
            }
            shown: dict[str, str] = {}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                running, attempts = ray.get(board.snapshot.remote())
                for ref in ready:
                    job = pending.pop(ref)
                    tries = attempts.get(job.key, 1)
                    run_dir, error, states[job.key] = _collect(ray, ref, job, tries)
                    if run_dir is not None:
                        finished[job.key] = run_dir
                    else:
                        failures.append(
                            JobFailure(
                                job.request.spec.name, job.request.suite, tries, str(error), job.log, log_tail(job.log)
                            )
                        )
                now = {job.key: {**running, **states}.get(job.key, "queued") for job in jobs}
                if now != shown:
                    on_states(now)
                    shown = now
    runs = [(finished[job.key], job.role) for job in jobs if job.key in finished]
    if failures:
        raise SweepIncomplete(runs, failures)
    return runs


def _last_line(error: BaseException) -> str:
    """The final line of a Ray error (the cause, not Ray's long preamble)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(error).__name__
