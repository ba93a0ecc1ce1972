"""The experiment YAML's shape: every top-level key's type and range, checked in one pass.

A string where a list belongs (`suites: ru-open`) was iterated by character and a quoted number
(`limit: "ten"`) failed deep inside a run; validating the whole file first reports every such
problem at once, before any model is touched. What the values mean (paths, task names, model
entries) is load_experiment's job (harness/compare.py).
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from harness.backends import BACKENDS, DEFAULT_BACKEND
from harness.evaluation import MAX_SHOTS
from lep.validation import PathComponent, PositiveInt
from tasks_ru.suites import SUITES

Text = Annotated[str, Strict()]


class ExperimentFile(BaseModel):
    """The keys an experiment YAML may have, with their types (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    name: PathComponent | None = None  # the report's folder
    models: list[dict[str, Any]] = Field(min_length=1)  # each: name, path, kind, role, ... (a ModelSpec + role)
    suites: list[Literal[tuple(SUITES)]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["ru-open"], min_length=1
    )
    backend: Literal[("auto", *BACKENDS)] = DEFAULT_BACKEND  # type: ignore[valid-type]
    enforce_eager: Annotated[bool, Strict()] = False  # vLLM without torch.compile: for short runs (README)
    data_dir: Text | None = None
    limit: PositiveInt | None = None
    shots: Annotated[int, Strict(), Field(ge=0, le=MAX_SHOTS)] | None = None  # None: 5 base, 0 instruct
    choice_shots: Annotated[int, Strict(), Field(ge=0, le=MAX_SHOTS)] | None = None  # None: as shots
    runs: Text = "runs"
    reports: Text = "reports"
    published: list[Text] = Field(default_factory=list)
    note: Text = ""
    tasks: list[Text] = Field(default_factory=list)
    executor: Text = "local"
    ray: dict[str, Any] | None = None
    speed: dict[str, Any] | None = None
