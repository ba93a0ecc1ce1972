"""`lep-bench run`: one model × one suite → runs/<model>/<suite>/<fingerprint>/, resumable.

A finished task (tasks/<task>.json) is never recomputed; a killed run re-run with the same settings finishes
only the missing tasks, and the backend (a vLLM server: one start) is opened only if something is missing.
The fingerprint that names the run dir is the request's (harness/run/request.py).

    provenance.json        what ran and how (written with the first finished task, completed at the end)
    tasks/<task>.json      lm-eval metrics, task version, data hash, timings, generation wall time
    samples/<task>.jsonl   per-sample prompts, outputs and scores
    summary.json           task scores, group scores, the total, generated characters per token

Generation speed is not measured here (a scoring run's wall time includes HTTP, batching and
outputs of different lengths): `lep-bench speed` (harness/speed/) measures it.
"""

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.run.backends import GenerationTimer, open_backend
from harness.run.evaluation import evaluate_task, task_manager
from harness.run.fingerprint import git_revision
from harness.run.model_spec import validate
from harness.run.request import RunRequest, check_request
from harness.run.summary import summarise_run
from harness.serving.server import ServerError
from lep.atomic_write import remove_leftovers, write_json, write_text


def _generation_wall(timer: GenerationTimer, count_tokens: Callable[[str], int]) -> dict[str, float]:
    """The wall time of a task's generate_until calls and what they produced (a timing, not a speed benchmark)."""
    return {
        "generate_seconds": timer.seconds,
        "generated_chars": sum(len(t) for t in timer.outputs),
        "generated_tokens": sum(count_tokens(t) for t in timer.outputs),
    }


def _write_task(run_dir: Path, result: dict[str, Any]) -> None:
    """Samples first, then the task file that marks the task finished (both atomic)."""
    samples = result.pop("samples")
    write_text(
        run_dir / "samples" / f"{result['task']}.jsonl",
        "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples),
    )
    write_json(run_dir / "tasks" / f"{result['task']}.json", result)


SERVER_LOG = "vllm-server.log"


def _server_failure(lm: Any, task: str) -> ServerError | None:
    """A ServerError when the failure of `task` was the vLLM server dying or going silent, else None."""
    server = getattr(lm, "server", None)
    if server is None or (server.alive() and server.healthy()):
        return None
    state = "died" if server.exited(within_s=5) else "stopped answering"
    return ServerError(f"the vLLM server {state} during {task}:\n{server.log_tail()}")


def _evaluate_missing(
    request: RunRequest,
    missing: list[str],
    run_dir: Path,
    provenance: dict,
    progress: Callable[[str], None],
    settings: dict[str, Any],
) -> None:
    """Open the backend once and write each missing task as it finishes (a task file marks it done)."""
    started = time.perf_counter()
    manager = task_manager(
        request.data_source(),
        Path(request.spec.tokenizer_path),
        hub_revisions=settings["data"].get("hub_revisions") or {},
    )
    with open_backend(request.spec, request.backend, log_path=run_dir / SERVER_LOG) as lm:
        provenance["timings"]["backend_start_seconds"] = time.perf_counter() - started
        timer = GenerationTimer(lm)
        for task in missing:
            progress(f"{request.spec.name} · {task}")
            timer.reset()
            task_start = time.perf_counter()
            try:
                result = evaluate_task(lm, task, request.prompts, manager)
            except Exception:
                if failure := _server_failure(lm, task):
                    raise failure from None
                raise
            result["seconds"] = time.perf_counter() - task_start
            result["generation_wall"] = _generation_wall(
                timer, lambda text: len(lm.tokenizer(text, add_special_tokens=False)["input_ids"])
            )
            _write_task(run_dir, result)
            write_json(run_dir / "provenance.json", provenance)  # only a run dir that holds a result gets one


def _remove_empty_run(run_dir: Path, out: Path) -> None:
    """Remove what the runner wrote into a run dir that holds no finished task, then the dir and its parents below
    `out` if that emptied them: a file another tool keeps there (the sweep's log of its attempts) stays."""
    (run_dir / SERVER_LOG).unlink(missing_ok=True)
    for folder in ("tasks", "samples"):
        shutil.rmtree(run_dir / folder, ignore_errors=True)
    for parent in (run_dir, run_dir.parent, run_dir.parent.parent):
        if parent != out and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def run(request: RunRequest, progress: Callable[[str], None] = lambda _: None) -> Path:
    """Evaluate whatever is missing of the suite for this model and settings; return the run dir.

    A run that fails or is interrupted before its first task finishes leaves no run dir behind."""
    check_request(request)
    validate(request.spec)
    tasks = request.task_list()
    settings = request.settings_record()
    run_dir = request.run_dir(settings)
    provenance_path = run_dir / "provenance.json"
    provenance: dict[str, Any] = (
        json.loads(provenance_path.read_text(encoding="utf-8"))
        if provenance_path.exists()
        else {
            "spec": request.spec.record(),
            "settings": settings,
            "git_revision": git_revision(),
            "timings": {},
        }
    )
    missing = [t for t in tasks if not (run_dir / "tasks" / f"{t}.json").exists()]
    if run_dir.is_dir():
        remove_leftovers(run_dir)  # a killed run's half-written files
    if len(missing) < len(tasks):
        progress(f"reusing {len(tasks) - len(missing)} finished task(s) in {run_dir}")
    if missing:
        started = time.perf_counter()
        try:
            _evaluate_missing(request, missing, run_dir, provenance, progress, settings)
        except BaseException:
            if not any((run_dir / "tasks").glob("*.json")):
                _remove_empty_run(run_dir, request.out)
            raise
        provenance["timings"]["last_session_seconds"] = time.perf_counter() - started
    write_json(provenance_path, provenance)
    write_json(
        run_dir / "summary.json",
        summarise_run(run_dir, request.suite) | {"model": request.spec.name, "kind": request.spec.kind},
    )
    return run_dir
