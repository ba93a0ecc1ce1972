"""The experiment YAML (`lep-bench compare EXPERIMENT.yaml`): one pydantic tree for everything it accepts.

    name: smollm2-ru-open            # the report's folder (default: the file's name)
    models:                          # a model spec each, with its role and what its Ray job asks for
      - {name: original, path: models/smollm2, kind: instruct, role: reference}
      - {name: lep, path: work/propagate-conversion, tensor_parallel_size: 1, cpus: 4}
    suites: [ru-open]
    backend: auto                    # auto | hf | vllm | vllm-server
    data_dir: ../shared/data
    shots: 3                         # few-shot examples (default: 5 for base models, 0 for instruct)
    runs: runs
    reports: reports
    executor: local                  # local | ray (then `ray: {address, retries, local_cpus}`)
    speed: {backend: hf, new_tokens: 16}

Every key and value of the file is checked in one pass before any model is touched, and so are the rules that
span keys (distinct model names, tasks that belong to the suites, published tables that exist); every problem is
named in one error. A GPU split on a backend that cannot split a model is each run's own rule (BackendSettings),
checked for every run before the first starts. Relative paths resolve against the file's folder, or a folder
the caller names (the demo: its work folder); a model's `path` or `tokenizer` may also be a hub id (`org/name`
or `org/name@revision`), and a run records the commit it was read at.
"""

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, Strict, model_validator

from harness.report.published import published_tables
from harness.run.backends import BACKENDS, DEFAULT_BACKEND, BackendSettings
from harness.run.evaluation import MAX_SHOTS
from harness.run.model_spec import ModelSpec, resolve_spec
from harness.speed.settings import SpeedSettings
from lep.validation import (
    MAX_BATCH,
    ConfigPath,
    NonNegativeInt,
    PathComponent,
    PositiveInt,
    check_fields,
    read_yaml,
    safe_name,
)
from tasks_ru.suites import SUITES, suite_tasks

Role = Literal["reference", "baseline", "candidate"]
ROLES: tuple[str, ...] = get_args(Role)
Executor = Literal["local", "ray"]
EXECUTORS: tuple[str, ...] = get_args(Executor)
Text = Annotated[str, Strict()]
Shots = Annotated[int, Strict(), Field(ge=0, le=MAX_SHOTS)]


def _known_table(name: str) -> str:
    if name not in published_tables():
        raise ValueError(f"is not one of the paper's tables ({', '.join(published_tables())})")
    return name


PublishedTable = Annotated[str, Strict(), AfterValidator(_known_table)]


@dataclass(frozen=True)
class Resources:
    """What one model's Ray job asks the cluster for: GPUs = its tensor-parallel size; 0 GPUs = a CPU-only run."""

    tensor_parallel_size: int = 0
    cpus: int = 1

    def ray_options(self) -> dict[str, int]:
        return {"num_cpus": self.cpus, "num_gpus": self.tensor_parallel_size}


@dataclass(frozen=True)
class ModelEntry(ModelSpec):
    """A model of an experiment: its spec, its role in the comparison and its Ray job's resources."""

    role: Role = "candidate"
    tensor_parallel_size: NonNegativeInt = 0  # GPUs its job asks for = vLLM's tensor-parallel size; 0: CPU only
    cpus: PositiveInt = 1

    def spec(self) -> ModelSpec:
        """The model spec alone (what the run's fingerprint covers: not its role or resources)."""
        return ModelSpec(**{f.name: getattr(self, f.name) for f in fields(ModelSpec)})

    @property
    def resources(self) -> Resources:
        return Resources(self.tensor_parallel_size, self.cpus)


class RaySettings(BaseModel):
    """Where a ray sweep runs and how often a failed job is tried again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # None: a private cluster on this machine for this sweep; "auto": the one running here (else a new one);
    # ray://HOST:PORT or HOST:PORT
    address: Text | None = None
    retries: NonNegativeInt = 2  # further attempts after a job fails or its worker dies
    local_cpus: PositiveInt | None = None  # a cluster this sweep starts: CPUs it offers (default: all of them)


class ExperimentConfig(BaseModel):
    """A whole experiment YAML, validated; its paths are absolute, its models' named models and hub ids resolved by
    `resolved_specs`."""

    model_config = ConfigDict(extra="forbid")
    _folder: Path | None = PrivateAttr(default=None)  # what relative model paths and hub-shaped names start at

    name: PathComponent | None = None  # the report's folder
    models: list[ModelEntry] = Field(min_length=1)
    suites: list[Literal[tuple(SUITES)]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["ru-open"], min_length=1
    )
    backend: Literal[("auto", *BACKENDS)] = DEFAULT_BACKEND  # type: ignore[valid-type]
    enforce_eager: Annotated[bool, Strict()] = False  # vLLM without torch.compile: for short runs (docs/backends.md)
    # prompts per lm-eval request, and (vllm-server) requests in flight: 1 x 32 keeps a server's batch full through
    # long generations, where 8-prompt requests wait for their longest answer
    batch_size: Annotated[int, Strict(), Field(ge=1, le=MAX_BATCH)] = BackendSettings.batch_size
    num_concurrent: PositiveInt = BackendSettings.num_concurrent
    data_dir: ConfigPath | None = None  # task data (default: $LEP_DATA_DIR, else the hub)
    limit: PositiveInt | None = None  # score only the first N items of each task
    shots: Shots | None = None  # None: 5 for base models, 0 for instruct (the paper's setting)
    choice_shots: Shots | None = None  # few-shot examples of the choice tasks; None: as `shots`
    runs: ConfigPath = Field(default=Path("runs"), validate_default=True)  # relative: to the file's folder
    reports: ConfigPath = Field(default=Path("reports"), validate_default=True)
    published: list[PublishedTable] = Field(default_factory=list)  # the paper's tables shown beside the scores
    note: Text = ""  # shown at the top of the report
    tasks: list[Text] = Field(default_factory=list)  # a subset of the suites' tasks; empty: all
    executor: Executor = "local"  # local: one run after another here; ray: each missing run is a Ray task
    ray: RaySettings = Field(default_factory=RaySettings)
    speed: SpeedSettings | None = None  # measure generation speed over the models (`speed: {}`: the defaults)

    @model_validator(mode="after")
    def _rules_across_keys(self) -> "ExperimentConfig":
        problems = []
        names = [m.name for m in self.models]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            problems.append(
                f"models {', '.join(repeated)} appear more than once: give each model a distinct name (it names its "
                "run folder and its column of the report)"
            )
        if unknown := [t for t in self.tasks if not any(t in suite_tasks(s) for s in self.suites)]:
            problems.append(f"task(s) {', '.join(unknown)} are in none of the suites {', '.join(self.suites)}")
        if self.tasks and (untouched := [s for s in self.suites if not set(self.tasks) & set(suite_tasks(s))]):
            problems.append(f"'tasks' lists none of suite {', '.join(untouched)}'s tasks; list some or drop the suite")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def resolved_specs(self) -> list[ModelSpec]:
        """Each model's spec with local dirs, in config order: named models imported, hub ids fetched from the
        Hugging Face cache (their commits recorded), relative paths joined to the config's folder. Called when runs
        are about to start, so a path a pipeline has just built is a local dir, not a hub id."""
        return [resolve_spec(entry.spec(), self._folder) for entry in self.models]


def load_experiment(path: Path, base: Path | None = None, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read and check an experiment YAML (every problem at once). Its named models and hub ids are resolved when
    runs are about to start (`ExperimentConfig.resolved_specs`), not here: a pipeline may build them first.

    Relative paths resolve against `base`, default the file's folder. `overrides` replace top-level keys (the
    command line's --backend and --executor, the demo's data folder); `ray` is merged key by key."""
    path = Path(path)
    raw = read_yaml(path, "experiment config")
    overrides = dict(overrides or {})
    if "ray" in overrides:
        overrides["ray"] = (raw["ray"] if isinstance(raw.get("ray"), dict) else {}) | overrides["ray"]
    folder = Path(base) if base is not None else path.resolve().parent
    config = check_fields(ExperimentConfig, raw | overrides, f"experiment config {path}", context={"base": folder})
    name = config.name or safe_name(path.stem, "experiment name (the config's file name)")
    loaded = config.model_copy(update={"name": name})
    loaded._folder = folder
    return loaded
