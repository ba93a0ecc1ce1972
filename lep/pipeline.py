"""`lep-bench adapt pipeline CONFIG`: every LEP stage from one YAML file, resumable.

A stage is finished when its output dir holds a finished record of the settings and inputs it
was made from (lep/stage_record.py): it is skipped while they are unchanged and rebuilt, with
everything downstream of it, when any changed; a killed training stage resumes from its last
checkpoint. Each stage reads the previous
stage's output unless the config names another input; every input is checked before anything
runs. Relative paths are resolved against the config file's folder.

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

The tokenizer stage takes AdaptationRequest's settings (method, vocab_size, new_vocab_size, keep,
max_chars, trainer, keep_by, ignore_merges, base), the train stage TrainSettings' (packing,
precision, ...); an unknown key is an error before anything runs.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict
from rich.console import Console

from lep.calibration import calibrate
from lep.calibration_data import calibration_examples
from lep.embedding_init import INIT_MANIFEST, initialise
from lep.embedding_training import TRAIN_MANIFEST, TrainSettings, checkpoints_dir, train_embeddings
from lep.errors import InputError
from lep.propagation import MODES, PROPAGATE_MANIFEST, propagate
from lep.stage_record import StageInputs, run_stage
from lep.stage_settings import PRESETS, calibration_preset, check_settings
from lep.validation import check_fields, raise_problems
from lep.vocab_adaptation import MANIFEST, AdaptationRequest, adapt_tokenizer, check_request

STAGES = ("tokenizer", "init", "train", "propagate", "calibrate")
MARKERS = {"tokenizer": MANIFEST, "init": INIT_MANIFEST, "train": TRAIN_MANIFEST}
Text = Annotated[str, Strict()]
CALIBRATE_KEYS = {"mode", "data", "from_mode", "judge", "min_grade", "max_new_tokens", "copy_corpus", "copy_examples"}


@dataclass
class PipelineConfig:
    folder: Path
    workdir: Path
    base_model: Path
    instruct_model: Path | None
    corpus: list[Path]
    stages: dict[str, dict]

    def resolve(self, value: str | Path) -> Path:
        path = Path(value).expanduser()
        return (path if path.is_absolute() else self.folder / path).resolve()

    def instruct(self) -> Path:
        """The instruct model, which validate() has checked the stages that need it have."""
        if self.instruct_model is None:
            raise InputError("the propagate and self-calibrate stages need instruct_model")
        return self.instruct_model

    def output(self, stage: str, mode: str | None = None) -> Path:
        return self.workdir / (f"propagate-{mode}" if mode else stage)


class Stages(BaseModel):
    """The stages a config runs (a key present, even empty, runs that stage) and their settings."""

    model_config = ConfigDict(extra="forbid")

    tokenizer: dict[str, Any] | None = None
    init: dict[str, Any] | None = None
    train: dict[str, Any] | None = None
    propagate: dict[str, Any] | None = None
    calibrate: dict[str, Any] | None = None


class PipelineFile(BaseModel):
    """The keys a pipeline YAML may have, with their types (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    workdir: Text
    base_model: Text
    instruct_model: Text | None = None
    corpus: list[Text] = Field(default_factory=list)
    stages: Stages


def load_config(path: Path) -> PipelineConfig:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pipeline config {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text file (not UTF-8): give a pipeline YAML") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise InputError(f"{path} is not valid YAML{line}: {getattr(error, 'problem', None) or error}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path} must be a YAML mapping with workdir, base_model, corpus and stages")
    checked = check_fields(PipelineFile, raw | {"stages": raw.get("stages") or {}}, str(path))
    stages = {
        name: dict(getattr(checked.stages, name) or {}) for name in STAGES if name in checked.stages.model_fields_set
    }
    folder = path.resolve().parent
    config = PipelineConfig(folder, Path(), Path(), None, [], stages)
    config.workdir = config.resolve(checked.workdir)
    config.base_model = config.resolve(checked.base_model)
    config.instruct_model = config.resolve(checked.instruct_model) if checked.instruct_model else None
    config.corpus = [config.resolve(p) for p in checked.corpus]
    return config


def tokenizer_request(config: PipelineConfig) -> AdaptationRequest:
    """The tokenizer stage's settings as a checked AdaptationRequest."""
    settings = config.stages["tokenizer"]
    values = {"base": str(config.base_model), "method": "extend"} | settings
    return check_request(values | {"corpus": config.corpus, "out": config.output("tokenizer"), "overwrite": True})


def train_settings(config: PipelineConfig) -> TrainSettings:
    """The train stage's settings (its `model` key names the input) as checked TrainSettings."""
    return check_settings({k: v for k, v in config.stages["train"].items() if k != "model"})


def _finished(config: PipelineConfig, stage: str) -> bool:
    return (config.output(stage) / MARKERS[stage]).is_file()


def _input(config: PipelineConfig, stage: str, key: str, previous: str) -> Path:
    """The dir a stage reads: named in its settings, else the previous stage's output."""
    settings = config.stages[stage]
    if key in settings:
        path = config.resolve(settings[key])
        if not path.exists():
            raise InputError(f"stage '{stage}' names {key}: {path}, which does not exist")
        return path
    if previous in config.stages or _finished(config, previous):
        return config.output(previous)
    raise InputError(
        f"stage '{stage}' needs the output of stage '{previous}' ({config.output(previous)}), which the config "
        f"neither runs nor has; add a '{previous}' stage or set {stage}.{key}"
    )


def _check_paths(config: PipelineConfig) -> None:
    if not config.base_model.exists():
        raise InputError(f"base_model {config.base_model} does not exist")
    needs_corpus = "tokenizer" in config.stages or "train" in config.stages
    if needs_corpus and not config.corpus:
        raise InputError("the tokenizer and train stages need 'corpus' (a list of files or folders)")
    missing = [str(path) for path in config.corpus if not path.exists()]
    if missing:
        raise InputError(f"corpus path(s) {', '.join(missing)} do not exist")


def _check_propagate(config: PipelineConfig) -> None:
    _input(config, "propagate", "adapted", "train")
    if config.instruct_model is None or not config.instruct_model.exists():
        raise InputError(f"the propagate stage needs instruct_model (an existing dir), got {config.instruct_model}")
    modes = config.stages["propagate"].get("modes", ["conversion"])
    if not isinstance(modes, list) or any(m not in MODES for m in modes):
        raise InputError(f"stage 'propagate': modes must be a list of {', '.join(MODES)}, got {modes!r}")


def _check_calibrate(config: PipelineConfig) -> None:
    settings = config.stages["calibrate"]
    known = CALIBRATE_KEYS | {f.name for f in fields(PRESETS["sft"])}
    if set(settings) - known:
        raise InputError(f"stage 'calibrate': unknown settings {sorted(set(settings) - known)}")
    if settings.get("mode") not in PRESETS or "data" not in settings or not config.resolve(settings["data"]).exists():
        raise InputError("stage 'calibrate' needs mode (self or sft) and data (an existing chat or prompt file)")
    source = config.output("propagate", settings.get("from_mode", "conversion"))
    in_config = settings.get("from_mode", "conversion") in config.stages.get("propagate", {}).get(
        "modes", ["conversion"]
    )
    if not in_config and not (source / PROPAGATE_MANIFEST).is_file():
        raise InputError(f"stage 'calibrate' needs {source}, which the propagate stage neither makes nor has made")


def validate(config: PipelineConfig) -> None:
    """Check every path and setting of every stage before any stage runs; one error lists all problems."""
    checks: list[Callable[[PipelineConfig], object]] = [_check_paths]
    checks += [tokenizer_request] if "tokenizer" in config.stages else []
    checks += [lambda c: _input(c, "init", "tokenizer", "tokenizer")] if "init" in config.stages else []
    checks += [train_settings, lambda c: _input(c, "train", "model", "init")] if "train" in config.stages else []
    checks += [_check_propagate] if "propagate" in config.stages else []
    checks += [_check_calibrate] if "calibrate" in config.stages else []
    problems = []
    for check in checks:
        try:
            check(config)
        except InputError as problem:
            problems.append(str(problem))
    raise_problems("pipeline config", problems)


SelfAnswerer = Callable[[Path, Path | None, int, int], Callable]


def _tokenizer_stage(config: PipelineConfig) -> tuple[StageInputs, Callable[[], object]]:
    settings = config.stages["tokenizer"]
    request = tokenizer_request(config)
    inputs = StageInputs("tokenizer", settings, {"base": request.base, "corpus": [str(p) for p in config.corpus]})
    return inputs, lambda: adapt_tokenizer(request)


def _init_stage(config: PipelineConfig) -> tuple[StageInputs, Callable[[], object]]:
    settings = config.stages["init"]
    tokenizer = _input(config, "init", "tokenizer", "tokenizer")
    original = settings.get("original_tokenizer")
    paths = {"model": str(config.base_model), "tokenizer": str(tokenizer)} | (
        {"original": original} if original else {}
    )
    inputs = StageInputs("init", settings, paths)
    return inputs, lambda: initialise(config.base_model, tokenizer, config.output("init"), original, overwrite=True)


def _train_stage(config: PipelineConfig) -> tuple[StageInputs, Callable[[], object]]:
    model = _input(config, "train", "model", "init")
    settings = train_settings(config)
    inputs = StageInputs("train", asdict(settings), {"model": str(model), "corpus": [str(p) for p in config.corpus]})
    return inputs, lambda: train_embeddings(model, config.corpus, config.output("train"), settings)


def _propagate_stage(config: PipelineConfig, mode: str, console: Console) -> tuple[StageInputs, Callable[[], object]]:
    settings = config.stages["propagate"]
    adapted = _input(config, "propagate", "adapted", "train")
    check = settings.get("check", True)
    models = {"base": str(config.base_model), "adapted": str(adapted), "instruct": str(config.instruct_model)}
    inputs = StageInputs(f"propagate-{mode}", {"mode": mode, "check": check}, models)

    def build() -> None:
        report = propagate(
            mode,
            config.base_model,
            adapted,
            config.instruct(),
            config.output("propagate", mode),
            check=check,
            overwrite=True,
        )
        console.print(f"propagate {mode}: fits {report.fits}, argmax agreement {report.argmax_agreement}")

    return inputs, build


def _calibrate_stage(
    config: PipelineConfig, self_answerer: SelfAnswerer | None
) -> tuple[Path, StageInputs, Callable[[], object]]:
    settings = config.stages["calibrate"]
    mode = settings["mode"]
    source = config.output("propagate", settings.get("from_mode", "conversion"))
    copy_corpus = [config.resolve(p) for p in settings.get("copy_corpus", [])] or config.corpus
    judge = config.resolve(settings["judge"]) if settings.get("judge") else None
    data = config.resolve(settings["data"])
    paths = {"model": str(source), "data": str(data), "copy_corpus": [str(p) for p in copy_corpus]}
    if mode == "self":
        paths |= {"instruct": str(config.instruct_model)} | ({"judge": str(judge)} if judge else {})
    out = config.workdir / f"calibrate-{mode}"

    def build() -> None:
        answer = None
        if mode == "self" and self_answerer is not None:
            answer = self_answerer(
                config.instruct(), judge, settings.get("min_grade", 4), settings.get("max_new_tokens", 512)
            )
        examples, record = calibration_examples(mode, data, copy_corpus, settings.get("copy_examples", 0), answer)
        preset = calibration_preset(mode, {k: v for k, v in settings.items() if k not in CALIBRATE_KEYS})
        calibrate(source, examples, out, preset, record, overwrite=True)

    return out, StageInputs("calibrate", settings, paths), build


def run_pipeline(
    config_path: Path, console: Console | None = None, self_answerer: SelfAnswerer | None = None
) -> dict[str, str]:
    """Run every configured stage that is not finished from its current inputs; returns stage -> 'ran' | 'skipped'.

    A stage re-runs when its settings or inputs changed since its output was made (lep/stage_record.py),
    and so does everything downstream of it. `self_answerer(instruct, judge, min_grade, max_new_tokens)`
    serves models for self-calibration; the harness passes it in, since serving is the harness's job.
    """
    console = console or Console()
    say = console.print
    config = load_config(config_path)
    validate(config)
    status: dict[str, str] = {}
    for stage, make in (("tokenizer", _tokenizer_stage), ("init", _init_stage)):
        if stage in config.stages:
            inputs, build = make(config)
            status[stage] = run_stage(config.output(stage), inputs, build, say)
    if "train" in config.stages:
        inputs, build = _train_stage(config)
        out = config.output("train")
        status["train"] = run_stage(out, inputs, build, say, also_clear=(checkpoints_dir(out),))
    for mode in config.stages["propagate"].get("modes", ["conversion"]) if "propagate" in config.stages else []:
        inputs, build = _propagate_stage(config, mode, console)
        status[f"propagate-{mode}"] = run_stage(config.output("propagate", mode), inputs, build, say)
    if "calibrate" in config.stages:
        out, inputs, build = _calibrate_stage(config, self_answerer)
        status["calibrate"] = run_stage(out, inputs, build, say)
    for stage, state in status.items():
        console.print(f"{stage}: {state}")
    return status
