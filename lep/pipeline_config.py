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
folder the caller names (the demo: its work folder). Every bad key or value of the file is one error.
"""

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from lep.stage_settings import (
    CalibrationMode,
    CalibrationRequest,
    Mode,
    TokenizerSettings,
    TrainSettings,
    calibration_problems,
    tokenizer_problems,
    train_problems,
)
from lep.validation import ConfigPath, NonNegativeInt, check_fields, from_config_folder, read_yaml

STAGES = ("tokenizer", "init", "train", "propagate", "calibrate")
Text = Annotated[str, Strict()]
# a tokenizer: a reference name (llama-3, ...) as it is, else a path relative to the config's folder
TokenizerName = Annotated[str, Strict(), AfterValidator(from_config_folder)]


@dataclass
class TokenizerStage(TokenizerSettings):
    base: TokenizerName | None = None  # the tokenizer to adapt (default: base_model's)

    def __post_init__(self) -> None:
        if problems := tokenizer_problems(self):
            raise ValueError("; ".join(problems))


@dataclass
class InitStage:
    __pydantic_config__ = ConfigDict(extra="forbid")

    tokenizer: ConfigPath | None = None  # the new tokenizer (default: the tokenizer stage's output)
    original_tokenizer: TokenizerName | None = None  # the model's own (default: base_model's)


@dataclass
class TrainStage(TrainSettings):
    model: ConfigPath | None = None  # the model to train (default: the init stage's output)

    def __post_init__(self) -> None:
        if problems := train_problems(self):
            raise ValueError("; ".join(problems))

    def settings(self) -> TrainSettings:
        return TrainSettings(**{f.name: getattr(self, f.name) for f in fields(TrainSettings)})


@dataclass
class PropagateStage:
    __pydantic_config__ = ConfigDict(extra="forbid")

    modes: list[Mode] = field(default_factory=lambda: ["conversion"])
    check: Annotated[bool, Strict()] = True  # the argmax-agreement check (loads both models)
    adapted: ConfigPath | None = None  # the adapted base (default: the train stage's output)


class CalibrateStage(BaseModel):
    """A CalibrationRequest's keys, plus any CalibrationSettings field (flat) over the mode's preset."""

    model_config = ConfigDict(extra="allow")

    mode: CalibrationMode
    data: ConfigPath
    from_mode: Mode = "conversion"  # which propagated model is calibrated
    judge: ConfigPath | None = None
    min_grade: Annotated[int, Strict(), Field(ge=1, le=5)] = 4
    max_new_tokens: Annotated[int, Strict(), Field(ge=1)] = 512
    copy_corpus: list[ConfigPath] = Field(default_factory=list)  # default: the pipeline's corpus
    copy_examples: NonNegativeInt = 0

    @model_validator(mode="after")
    def _preset_overrides(self) -> "CalibrateStage":
        if problems := calibration_problems(self.mode, self.overrides()):
            raise ValueError("; ".join(problems))
        return self

    def overrides(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def request(self, instruct: Path | None, corpus: list[Path]) -> CalibrationRequest:
        return CalibrationRequest(
            mode=self.mode,
            data=self.data,
            instruct=instruct,
            judge=self.judge,
            min_grade=self.min_grade,
            max_new_tokens=self.max_new_tokens,
            copy_corpus=tuple(self.copy_corpus or corpus),
            copy_examples=self.copy_examples,
            overrides=self.overrides(),
        )


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
    base_model: ConfigPath
    instruct_model: ConfigPath | None = None
    corpus: list[ConfigPath] = Field(default_factory=list)
    stages: Stages = Field(default_factory=Stages)

    def output(self, stage: str, mode: str | None = None) -> Path:
        return self.workdir / (f"propagate-{mode}" if mode else stage)


def load_pipeline(path: Path, base: Path | None = None, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    """Read and check a pipeline YAML (every problem at once); relative paths resolve against `base`, default the
    config's folder. `overrides` replace top-level keys (the demo gives its corpus this way)."""
    path = Path(path)
    raw = read_yaml(path, "pipeline config") | (overrides or {})
    folder = Path(base) if base is not None else path.resolve().parent
    return check_fields(PipelineConfig, raw, str(path), context={"base": folder})
