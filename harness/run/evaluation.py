"""One task through lm-eval: prompt mode (instruct zero-shot with the chat template, base k-shot),
generation settings (samples per prompt included), scoring profile, task metadata, and a JSON-safe result with
the per-sample outputs.

The runner calls `evaluate_task` once per task against one already-built lm-eval model, so a server
or a loaded model serves a whole suite while finished tasks can still be skipped on resume.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict

from lep.errors import InputError
from lep.validation import NonNegativeInt, PositiveInt, problems_of, raise_problems
from tasks_ru.errors import TaskDataError
from tasks_ru.rows import NON_DATA_FIELDS
from tasks_ru.suites import PAPER_GENERATION, TASKS_DIR, Profile

GENERATION_PRESETS: dict[str, dict[str, Any]] = {
    "greedy": {},  # the task YAMLs are greedy; regression runs use this
    "paper": {"do_sample": True, "temperature": 0.1, "top_p": 0.9, "top_k": 40},  # Darumeru's sampling
}  # `paper` takes a task's own sampling where the authors set one (suites.PAPER_GENERATION: IFEval, 5 samples)
PromptKind = Literal["base", "instruct"]
Generation = Literal["greedy", "paper"]  # GENERATION_PRESETS' keys
DEFAULT_SHOTS = {"base": 5, "instruct": 0}
MAX_SHOTS = 64
BASE_STOPS = ["\n"]  # llmtf's plain template stops a base model at a newline; instruct models stop at end of turn


@dataclass(frozen=True)
class PromptSettings:
    """How prompts are built and answers generated; all of it goes into the run's fingerprint."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    kind: PromptKind = "instruct"
    num_fewshot: Annotated[int, Strict(), Field(ge=0, le=MAX_SHOTS)] | None = (
        None  # None: 5 base, 0 instruct (the paper's)
    )
    # choice tasks are scored by their options' log-probabilities, so a model that follows no instruction
    # needs no worked example there; None: num_fewshot's count
    choice_shots: Annotated[int, Strict(), Field(ge=0, le=MAX_SHOTS)] | None = None
    generation: Generation = "greedy"
    limit: PositiveInt | None = None
    seed: NonNegativeInt = 1234
    scoring: Profile | None = (
        None  # None: each task's own profile (its YAML metadata: darumeru authors, ru-open strict)
    )

    @property
    def shots(self) -> int:
        return DEFAULT_SHOTS[self.kind] if self.num_fewshot is None else self.num_fewshot

    def shots_for(self, output_type: str) -> int:
        """The few-shot count of a task of this lm-eval output type (a text read whole takes none)."""
        if output_type == "loglikelihood_rolling":
            return 0
        if output_type == "multiple_choice" and self.choice_shots is not None:
            return self.choice_shots
        return self.shots

    def problems(self) -> list[str]:
        """Every setting outside its range (limit 0, negative shots, an unknown preset), as lines."""
        return problems_of(PromptSettings, asdict(self))

    def check(self) -> None:
        raise_problems("prompt settings", self.problems())

    def _preset(self, task: str) -> dict[str, Any]:
        """The preset's settings for `task` (`samples` among them where a task is sampled repeatedly)."""
        if self.generation == "paper":
            return PAPER_GENERATION.get(task, GENERATION_PRESETS["paper"])
        return GENERATION_PRESETS[self.generation]

    def generation_kwargs(self, task: str) -> dict[str, Any]:
        """lm-eval's gen_kwargs for `task`: the preset's sampling, and a base model's newline stop."""
        sampling = {k: v for k, v in self._preset(task).items() if k != "samples"}
        return {**sampling, **({"until": BASE_STOPS} if self.kind == "base" else {})}

    def samples(self, task: str) -> int:
        """Answers generated per prompt of `task`: one, or the authors' count where they sample a task repeatedly."""
        return int(self._preset(task).get("samples", 1))

    def task_metadata(self) -> dict[str, Any]:
        """What the loaders need of these settings: the prompt form and, when chosen, the profile."""
        return {"kind": self.kind, **({"scoring": self.scoring} if self.scoring else {})}

    def record(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "shots": self.shots,
            "choice_shots": self.shots_for("multiple_choice"),
            "generation_kwargs": GENERATION_PRESETS[self.generation],
            **({"task_generation": PAPER_GENERATION} if self.generation == "paper" else {}),
        }


def task_manager(data_dir: Path | None, tokenizer: Path | None, **extra: Any):
    """lm-eval's task index over tasks_ru only; data dir, tokenizer and `extra` reach the loaders as metadata."""
    from lm_eval.tasks import TaskManager

    metadata = {
        "data_dir": str(data_dir.resolve()) if data_dir else None,
        "tokenizer": str(tokenizer) if tokenizer else None,
        **extra,
    }
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)


def _with_settings(manager, settings: PromptSettings):
    """The same task index with the prompt form and scoring profile of these settings in its metadata."""
    metadata = {**manager.metadata, **settings.task_metadata()}
    data_dir = metadata.pop("data_dir")
    tokenizer = metadata.pop("tokenizer")
    return task_manager(Path(data_dir) if data_dir else None, Path(tokenizer) if tokenizer else None, **metadata)


def _data_fields(doc: dict) -> dict:
    """A doc less its per-model / per-run fields, also in the shots it carries (NLPCoreTeam MMLU)."""
    return {k: [_data_fields(s) for s in v] if k == "shots" else v for k, v in doc.items() if k not in NON_DATA_FIELDS}


def data_hash(task) -> str:
    """sha256 over the scored and few-shot docs as the task sees them, less the per-model fields, so
    two models (base or instruct) scored on the same items share the hash."""
    digest = hashlib.sha256()
    for docs in (task.eval_docs, task.fewshot_docs() or []):
        for doc in docs:
            digest.update(json.dumps(_data_fields(doc), sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def evaluate_task(lm, task_name: str, settings: PromptSettings, manager) -> dict[str, Any]:
    """Run one task; returns lm-eval's results for it, its version, data hash and per-sample outputs."""
    import lm_eval

    settings.check()
    manager = _with_settings(manager, settings)
    try:
        loaded = manager.load([task_name])["tasks"]
        task = next(iter(loaded.values()))
        shots = settings.shots_for(task.config.output_type)
        if settings.samples(task_name) > 1:
            task.set_config(key="repeats", value=settings.samples(task_name))
        output = lm_eval.simple_evaluate(
            model=lm,
            tasks=[task],
            task_manager=manager,
            num_fewshot=shots,
            apply_chat_template=settings.kind == "instruct",
            fewshot_as_multiturn=settings.kind == "instruct" and shots > 0,
            gen_kwargs=settings.generation_kwargs(task_name) or None,
            limit=settings.limit,
            log_samples=True,
            bootstrap_iters=0,
            random_seed=settings.seed,
            numpy_random_seed=settings.seed,
            torch_random_seed=settings.seed,
            fewshot_random_seed=settings.seed,
        )
    except TaskDataError as e:
        raise InputError(f"{task_name}: {e}") from None
    metrics = {k.split(",")[0]: v for k, v in output["results"][task_name].items() if k.endswith(",none")}
    return {
        "task": task_name,
        "version": output["versions"].get(task_name),
        "data_hash": data_hash(task),
        "n_samples": output["n-samples"][task_name],
        "metrics": _jsonable(metrics),
        "config": _jsonable(output["configs"][task_name]),
        "samples": _jsonable(output["samples"][task_name]),
    }
