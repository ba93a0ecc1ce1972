"""The pipeline YAML (`lep-bench adapt pipeline CONFIG`): one pydantic tree for every key and every stage.

    workdir: work/llama3-extend
    base_model: models/llama-3-8b
    instruct_model: models/llama-3-8b-instruct
    corpus: [data/ru]
    stages:
      tokenizer: {method: extend, new_vocab_size: 64000}
      init: {}
      train: {max_steps: 20000, learning_rate: 2.0e-4}
      propagate: {modes: [swap, overlap, conversion]}
      calibrate: {mode: sft, data: data/chat.jsonl, from_mode: conversion, copy_examples: 2000}

A stage key that is present (even empty) runs that stage. The tokenizer stage takes TokenizerSettings (and
`base`, default base_model); init takes `tokenizer` and `original_tokenizer`; train takes TrainSettings (and
`model`); propagate `modes`, `check` and `adapted`; calibrate a CalibrationRequest's keys and any
CalibrationSettings field over its mode's preset. Relative paths resolve against the config's folder, or a
folder the caller names (the demo: its work folder). A model or tokenizer may be a hub id (`org/name` or
`org/name@revision`, where no such path exists), read from the Hugging Face cache. Every bad key or value of the
file is one error.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, Strict, ValidationInfo, model_validator

from lep.hub_models import TOKENIZER_FILES, local_path
from lep.reference_sources import REFERENCE_NAMES
from lep.stage_settings import (
    CalibrationRequest,
    InitSettings,
    Mode,
    TokenizerSettings,
    TrainSettings,
    tokenizer_problems,
    train_problems,
)
from lep.validation import ConfigPath, check_fields, config_folder, model_or_path, read_yaml

STAGES = ("tokenizer", "init", "train", "propagate", "calibrate")
Text = Annotated[str, Strict()]


def _name_or_path(value: str, info: ValidationInfo) -> str:
    """A tokenizer: a reference name (llama-3) or hub id as given; a path that exists beside the config, resolved."""
    base = config_folder(info)
    beside = base / Path(value).expanduser() if base is not None else None
    return str(beside.resolve()) if value not in REFERENCE_NAMES and beside is not None and beside.exists() else value


TokenizerName = Annotated[str, Strict(), AfterValidator(_name_or_path)]
# A model: a path from the config's folder, or a hub id (org/name[@revision]) that run_stages resolves (fetch_hub_ids)
ModelPath = Annotated[Path, AfterValidator(lambda value, info: Path(model_or_path(str(value), info)))]


@dataclass
class TokenizerStage(TokenizerSettings):
    base: TokenizerName | None = None  # the tokenizer to adapt (default: base_model's)

    def __post_init__(self) -> None:
        if problems := tokenizer_problems(self):
            raise ValueError("; ".join(problems))


@dataclass
class InitStage(InitSettings):
    __pydantic_config__ = ConfigDict(extra="forbid")

    tokenizer: ConfigPath | None = None  # the new tokenizer (default: the tokenizer stage's output)
    original_tokenizer: TokenizerName | None = None  # the model's own (default: base_model's)


@dataclass
class TrainStage(TrainSettings):
    model: ConfigPath | None = None  # the model to train (default: the init stage's output)

    def __post_init__(self) -> None:
        if problems := train_problems(self):
            raise ValueError("; ".join(problems))


@dataclass
class PropagateStage:
    __pydantic_config__ = ConfigDict(extra="forbid")

    modes: list[Mode] = field(default_factory=lambda: ["conversion"])
    check: Annotated[bool, Strict()] = True  # the argmax-agreement check (loads both models)
    adapted: ConfigPath | None = None  # the adapted base (default: the train stage's output)


class CalibrateStage(CalibrationRequest):
    """A CalibrationRequest whose paths start at the config's folder, and the propagated model it calibrates; the
    instruct model that answers (self mode) is the pipeline's instruct_model."""

    data: ConfigPath
    judge: ModelPath | None = None
    copy_corpus: tuple[ConfigPath, ...] = ()  # default: the pipeline's corpus
    from_mode: Mode = "conversion"  # which propagated model is calibrated

    @model_validator(mode="after")
    def _instruct_is_the_pipelines(self) -> "CalibrateStage":
        if self.instruct is not None:
            raise ValueError("the model that answers is the pipeline's instruct_model: set that, not instruct")
        return self

    def request(self, instruct: Path | None, corpus: list[Path]) -> CalibrationRequest:
        given = self.model_dump(exclude={"from_mode"}) | {"instruct": instruct}
        return CalibrationRequest(**given | {"copy_corpus": self.copy_corpus or tuple(corpus)})


class Stages(BaseModel):
    """The stages a config runs and their settings; a stage that is absent does not run."""

    model_config = ConfigDict(extra="forbid")

    tokenizer: TokenizerStage | None = None
    init: InitStage | None = None
    train: TrainStage | None = None
    propagate: PropagateStage | None = None
    calibrate: CalibrateStage | None = None

    @model_validator(mode="before")
    @classmethod
    def _present_means_run(cls, data: Any) -> Any:
        """`init:` with no value runs the stage with its defaults, as `init: {}` does."""
        return {k: {} if v is None else v for k, v in data.items()} if isinstance(data, dict) else data

    def names(self) -> list[str]:
        return [name for name in STAGES if getattr(self, name) is not None]


class PipelineConfig(BaseModel):
    """A whole pipeline YAML, validated; paths are absolute once loaded."""

    model_config = ConfigDict(extra="forbid")

    workdir: ConfigPath
    base_model: ModelPath
    instruct_model: ModelPath | None = None
    corpus: list[ConfigPath] = Field(default_factory=list)
    stages: Stages = Field(default_factory=Stages)

    _folder: Path | None = PrivateAttr(default=None)  # where relative paths and hub-shaped names start

    def output(self, stage: str, mode: str | None = None) -> Path:
        return self.workdir / (f"propagate-{mode}" if mode else stage)


def load_pipeline(path: Path, base: Path | None = None, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Read and check a pipeline YAML (every problem at once); relative paths resolve against `base`, default the
    config's folder. `overrides` replace top-level keys (the demo gives its corpus this way)."""
    path = Path(path)
    raw = read_yaml(path, "pipeline config") | (overrides or {})
    folder = Path(base) if base is not None else path.resolve().parent
    config = check_fields(PipelineConfig, raw, str(path), context={"base": folder})
    config._folder = folder
    return config


def fetch_hub_ids(config: PipelineConfig) -> None:
    """Each model and tokenizer the config names by hub id, replaced by its cached snapshot (lep/hub_models.py):
    done when the stages start (lep/pipeline.py: run_stages), not at load, so that a path the caller builds in
    between (the demo imports its base model) is a local dir. The stages then read local dirs, and their records
    digest what they read."""
    folder = config._folder
    config.base_model = Path(local_path(config.base_model, folder))
    if config.instruct_model is not None:
        config.instruct_model = Path(local_path(config.instruct_model, folder))
    if (tokenizer := config.stages.tokenizer) is not None and tokenizer.base is not None:
        tokenizer.base = local_path(tokenizer.base, folder, TOKENIZER_FILES)
    if (init := config.stages.init) is not None and init.original_tokenizer is not None:
        init.original_tokenizer = local_path(init.original_tokenizer, folder, TOKENIZER_FILES)
    if (calibrate := config.stages.calibrate) is not None and calibrate.judge is not None:
        config.stages.calibrate = calibrate.model_copy(update={"judge": Path(local_path(calibrate.judge, folder))})
