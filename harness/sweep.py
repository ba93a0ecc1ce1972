"""The Ray executor of `lep-bench compare`: each (model, suite) run missing from the store is one Ray task.

Why Ray and not a scheduler of our own: sweeps of dozens of models outgrow one machine, and Ray already
places work where its GPUs are free, restarts tasks whose worker died and scales from one node to a
Slurm allocation. The run store (a path every node sees) stays the only point of coordination: a task
calls the same `harness.runner.run` as a local run, so it skips the tasks already in the store, and a
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.model_spec import validate
from lep.errors import InputError, LepError

if TYPE_CHECKING:  # the runner (lm-eval, torch) is imported when a job runs, not with the CLI
    from harness.runner import RunRequest

EXECUTORS = ("local", "ray")
EXIT_INCOMPLETE = 3  # `lep-bench compare`: the report was built, but some runs failed
LOG_NAME = "sweep.log"
LOG_TAIL_LINES = 30
INSTALL_HINT = (
    "the ray executor needs Ray: ./setup.sh cpu,ray (or pip install 'lep-bench[ray]'), on every node of the cluster"
)


@dataclass(frozen=True)
class RaySettings:
    """Where the sweep runs and how often a failed job is tried again."""

    # None: a private cluster on this machine for this sweep; "auto": the one running here (else a new one);
    # ray://HOST:PORT or HOST:PORT
    address: str | None = None
    retries: int = 2  # further attempts after a job fails or its worker dies
    local_cpus: int | None = None  # a cluster this sweep starts: CPUs it offers (default: all of this machine's)

    def check(self) -> None:
        if not isinstance(self.retries, int) or self.retries < 0:
            raise InputError(f"ray retries must be a whole number >= 0, got {self.retries!r}")
        if self.local_cpus is not None and (not isinstance(self.local_cpus, int) or self.local_cpus < 1):
            raise InputError(f"ray local_cpus must be a whole number >= 1, got {self.local_cpus!r}")


@dataclass(frozen=True)
class Resources:
    """What one model's job asks the cluster for: GPUs = its tensor-parallel size; 0 GPUs = a CPU-only run."""

    tensor_parallel_size: int = 0
    cpus: int = 1

    def check(self, model: str) -> None:
        for key, value, least in (("tensor_parallel_size", self.tensor_parallel_size, 0), ("cpus", self.cpus, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InputError(f"model {model}: {key} must be a whole number >= {least}, got {value!r}")

    def ray_options(self) -> dict[str, int]:
        return {"num_cpus": self.cpus, "num_gpus": self.tensor_parallel_size}


RESOURCE_KEYS = ("tensor_parallel_size", "cpus")


def settings_from_config(raw: dict[str, Any], source: str) -> tuple[str, RaySettings]:
    """The experiment YAML's `executor:` and `ray: {address, retries, local_cpus}` keys."""
    executor = raw.get("executor", "local")
    if executor not in EXECUTORS:
        raise InputError(f"{source}: executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    block = raw.get("ray") or {}
    known = {"address", "retries", "local_cpus"}
    if not isinstance(block, dict) or set(block) - known:
        raise InputError(f"{source}: 'ray' takes {', '.join(sorted(known))}; got {block!r}")
    settings = RaySettings(**block)
    settings.check()
    return executor, settings


def resources_from_entry(entry: dict[str, Any], source: str) -> Resources:
    """Pop a model entry's `tensor_parallel_size` and `cpus` (the rest is its ModelSpec)."""
    resources = Resources(**{key: entry.pop(key) for key in RESOURCE_KEYS if key in entry})
    resources.check(f"{entry.get('name')} in {source}")
    return resources


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


@dataclass
class Job:
    """One model × suite run of the sweep; `run_dir` is computed once, on the driver."""

    request: "RunRequest"
    role: str
    resources: Resources
    run_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.run_dir = self.request.run_dir()

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


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


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

    from harness.runner import run

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
def ray_cluster(settings: RaySettings, say) -> Iterator[Any]:
    """Connect to (or start) the Ray cluster; always disconnect, which stops a cluster we started."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network calls from a sweep
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


def _table(jobs: list[Job], states: dict[str, str]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    for job in jobs:
        table.add_row(job.key, states.get(job.key, "queued"))
    return table


def run_sweep(jobs: list[Job], settings: RaySettings, console: Console | None = None) -> list[tuple[Path, str]]:
    """Run the jobs missing from the store as Ray tasks; return (run dir, role) in job order.

    Raises SweepIncomplete (carrying the finished runs) when a job still fails after its retries."""
    console = console or Console(highlight=False)
    settings.check()
    import_ray()
    states = {job.key: "done (reused from the store)" for job in jobs if job.finished()}
    todo = [job for job in jobs if job.key not in states]
    for job in todo:  # a mistake in a model's files is one line now, not an hour into the sweep
        validate(job.request.spec)
        job.request.prompts.check()
    finished = {job.key: job.run_dir for job in jobs if job.key in states}
    failures: list[JobFailure] = []
    if todo:
        with ray_cluster(settings, lambda line: console.print(f"[dim]{line}[/dim]")) as ray:
            _check_placeable(ray, todo)
            board = ray.remote(num_cpus=0)(ProgressBoard).remote()
            task = ray.remote(run_job)
            pending = {
                task.options(
                    **job.resources.ray_options(), max_retries=settings.retries, retry_exceptions=True, name=job.key
                ).remote(job.request, job.key, job.run_dir, board): job
                for job in todo
            }
            with Live(_table(jobs, states), console=console, refresh_per_second=4) as live:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                    running, attempts = ray.get(board.snapshot.remote())
                    for ref in ready:
                        job = pending.pop(ref)
                        tries = attempts.get(job.key, 1)
                        try:
                            outcome, error = ray.get(ref), None
                        except ray.exceptions.RayError as crash:
                            outcome, error = None, _last_line(crash)
                        if outcome is not None and outcome.startswith("error: "):
                            outcome, error = None, str(outcome).removeprefix("error: ")
                        if error is None:
                            finished[job.key] = Path(outcome)
                            states[job.key] = f"done ({tries} attempt{'s' if tries > 1 else ''})"
                            if Path(outcome) != job.run_dir:
                                states[job.key] += (
                                    f", but in {outcome}, not {job.run_dir}: that worker's lep-bench, task "
                                    "code or packages differ from this machine's"
                                )
                        else:
                            failures.append(
                                JobFailure(
                                    job.request.spec.name, job.request.suite, tries, error, job.log, log_tail(job.log)
                                )
                            )
                            states[job.key] = f"failed after {tries} attempt(s): {error}"
                    live.update(_table(jobs, {**running, **states}))
            if not console.is_terminal:
                console.line()  # rich ends a non-terminal Live without a newline
    else:
        console.print(_table(jobs, states))
    for failure in failures:
        console.print(
            f"failed: {failure.model} on {failure.suite} after {failure.attempts} attempt(s): {failure.error}",
            style="red",
            markup=False,
            soft_wrap=True,
        )
        console.print(f"last lines of {failure.log}:\n{failure.log_tail}", markup=False, soft_wrap=True)
    runs = [(finished[job.key], job.role) for job in jobs if job.key in finished]
    if failures:
        raise SweepIncomplete(runs, failures)
    return runs


def _last_line(error: BaseException) -> str:
    """The final line of a Ray error (the cause, not Ray's long preamble)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(error).__name__
