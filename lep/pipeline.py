"""`lep-bench adapt pipeline CONFIG`: every LEP stage of one YAML file (lep/pipeline_config.py), resumable.

A stage is finished when its output dir holds a finished record of the settings and inputs it was made from
(lep/stage_record.py): it is skipped while they are unchanged and rebuilt, with everything downstream of it,
when any changed; a killed training stage resumes from its last checkpoint. Each stage reads the previous
stage's output unless the config names another input; every input is checked before anything runs.
"""

from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from lep.calibration import SelfAnswerer, run_calibration
from lep.embedding_init import INIT_MANIFEST, initialise
from lep.embedding_training import TRAIN_MANIFEST, checkpoints_dir, train_embeddings
from lep.errors import InputError
from lep.pipeline_config import PipelineConfig, fetch_hub_ids, load_pipeline
from lep.propagation import PROPAGATE_MANIFEST, propagate
from lep.stage_record import StageInputs, run_stage
from lep.stage_settings import InitSettings, TokenizerSettings, TrainSettings, calibration_preset
from lep.validation import raise_problems
from lep.vocab_adaptation import MANIFEST, AdaptationRequest, adapt_tokenizer, check_request

MARKERS = {"tokenizer": MANIFEST, "init": INIT_MANIFEST, "train": TRAIN_MANIFEST}
Say = Callable[[str], None]
Stage = tuple[Path, StageInputs, Callable[[], object]]  # output dir, what it is made from, how to make it


def _resolved(stage: object, schema: type) -> dict[str, Any]:
    """A stage's settings as they resolve, defaults included (the fields of `schema` only; paths are inputs): its
    record keys on these, so a changed default rebuilds a stage whose YAML left that setting out."""
    return {f.name: getattr(stage, f.name) for f in fields(schema)}


def _finished(config: PipelineConfig, stage: str) -> bool:
    return (config.output(stage) / MARKERS[stage]).is_file()


def _input(config: PipelineConfig, stage: str, given: Path | None, previous: str) -> Path:
    """The dir a stage reads: the one its settings name, else the previous stage's output."""
    if given is not None:
        if not given.exists():
            raise InputError(f"stage '{stage}' reads {given}, which does not exist")
        return given
    if getattr(config.stages, previous) is not None or _finished(config, previous):
        return config.output(previous)
    raise InputError(
        f"stage '{stage}' needs the output of stage '{previous}' ({config.output(previous)}), which the config "
        f"neither runs nor has; add a '{previous}' stage or name its input in the '{stage}' stage"
    )


def _tokenizer_request(config: PipelineConfig) -> AdaptationRequest:
    settings = config.stages.tokenizer
    assert settings is not None
    values = asdict(settings) | {"base": settings.base or str(config.base_model)}
    return check_request(values | {"corpus": config.corpus, "out": config.output("tokenizer"), "overwrite": True})


def _check_paths(config: PipelineConfig) -> None:
    if not config.base_model.exists():
        raise InputError(f"base_model {config.base_model} does not exist")
    stages = config.stages
    if (stages.tokenizer or stages.train) and not config.corpus:
        raise InputError("the tokenizer and train stages need 'corpus' (a list of files or folders)")
    if missing := [str(path) for path in config.corpus if not path.exists()]:
        raise InputError(f"corpus path(s) {', '.join(missing)} do not exist")
    if (stages.propagate or (stages.calibrate and stages.calibrate.mode == "self")) and not (
        config.instruct_model and config.instruct_model.exists()
    ):
        raise InputError(
            "the propagate and self-calibrate stages need instruct_model (an existing dir), got "
            f"{config.instruct_model}"
        )


def _check_calibrate(config: PipelineConfig) -> None:
    stage = config.stages.calibrate
    assert stage is not None
    if not stage.data.exists():
        raise InputError(f"stage 'calibrate': data {stage.data} does not exist")
    source = config.output("propagate", stage.from_mode)
    runs_it = config.stages.propagate is not None and stage.from_mode in config.stages.propagate.modes
    if not runs_it and not (source / PROPAGATE_MANIFEST).is_file():
        raise InputError(f"stage 'calibrate' needs {source}, which the propagate stage neither makes nor has made")


def validate(config: PipelineConfig) -> None:
    """Check every path and input of every stage before any stage runs; one error lists all problems."""
    stages = config.stages
    checks: list[Callable[[], object]] = [lambda: _check_paths(config)]
    checks += [lambda: _tokenizer_request(config)] if stages.tokenizer else []
    if (init := stages.init) is not None:
        checks.append(lambda: _input(config, "init", init.tokenizer, "tokenizer"))
    if (train := stages.train) is not None:
        checks.append(lambda: _input(config, "train", train.model, "init"))
    if (propagate := stages.propagate) is not None:
        checks.append(lambda: _input(config, "propagate", propagate.adapted, "train"))
    checks += [lambda: _check_calibrate(config)] if stages.calibrate else []
    problems = []
    for check in checks:
        try:
            check()
        except InputError as problem:
            problems.append(str(problem))
    raise_problems("pipeline config", problems)


def _tokenizer_stage(config: PipelineConfig) -> Stage:
    request = _tokenizer_request(config)
    corpus = [str(p) for p in config.corpus]
    # with what `auto` resolves to, so that a change of its meaning rebuilds too
    settings = _resolved(request, TokenizerSettings) | {
        "drops_latin": request.drops_latin(),
        "cyrillic_only": request.cyrillic_only(),
    }
    inputs = StageInputs("tokenizer", settings, {"base": request.base, "corpus": corpus})
    return config.output("tokenizer"), inputs, lambda: adapt_tokenizer(request)


def _init_stage(config: PipelineConfig) -> Stage:
    stage = config.stages.init
    assert stage is not None
    tokenizer = _input(config, "init", stage.tokenizer, "tokenizer")
    original = stage.original_tokenizer
    paths = {"model": str(config.base_model), "tokenizer": str(tokenizer)} | (
        {"original": original} if original else {}
    )
    out = config.output("init")
    settings = InitSettings(**_resolved(stage, InitSettings))
    inputs = StageInputs("init", asdict(settings), paths)
    return out, inputs, lambda: initialise(config.base_model, tokenizer, out, original, True, settings)


def _train_stage(config: PipelineConfig) -> Stage:
    stage = config.stages.train
    assert stage is not None
    settings = TrainSettings(**_resolved(stage, TrainSettings))
    model, out = _input(config, "train", stage.model, "init"), config.output("train")
    inputs = StageInputs("train", asdict(settings), {"model": str(model), "corpus": [str(p) for p in config.corpus]})
    return out, inputs, lambda: train_embeddings(model, config.corpus, out, settings)


def _propagate_stage(config: PipelineConfig, mode: str, say: Say) -> Stage:
    stage = config.stages.propagate
    assert stage is not None and config.instruct_model is not None
    adapted, instruct, out = (
        _input(config, "propagate", stage.adapted, "train"),
        config.instruct_model,
        config.output("propagate", mode),
    )
    models = {"base": str(config.base_model), "adapted": str(adapted), "instruct": str(instruct)}
    inputs = StageInputs(f"propagate-{mode}", {"mode": mode, "check": stage.check}, models)

    def build() -> None:
        report = propagate(mode, config.base_model, adapted, instruct, out, check=stage.check, overwrite=True)
        say(f"propagate {mode}: fits {report.fits}, argmax agreement {report.argmax_agreement}")

    return out, inputs, build


def _calibrate_stage(config: PipelineConfig, self_answerer: SelfAnswerer | None) -> Stage:
    stage = config.stages.calibrate
    assert stage is not None
    request = stage.request(config.instruct_model, config.corpus)
    source, out = config.output("propagate", stage.from_mode), config.workdir / f"calibrate-{stage.mode}"
    paths: dict[str, Any] = {"model": str(source), "data": str(request.data)}
    paths |= {"copy_corpus": [str(p) for p in request.copy_corpus]}
    if stage.mode == "self":
        paths |= {"instruct": str(config.instruct_model)} | ({"judge": str(stage.judge)} if stage.judge else {})
    own = set(type(request).model_fields) - {"data", "instruct", "judge", "copy_corpus"}  # the paths are inputs
    settings = request.model_dump(mode="json", include=own)
    settings |= {"preset": asdict(calibration_preset(request.mode, request.overrides()))}
    inputs = StageInputs("calibrate", settings, paths)
    return out, inputs, lambda: run_calibration(source, out, request, self_answerer, overwrite=True)


def run_pipeline(
    config_path: Path, say: Say = lambda _: None, self_answerer: SelfAnswerer | None = None
) -> dict[str, str]:
    """Run a pipeline YAML: `run_stages` of the config it holds (lep/pipeline_config.py)."""
    return run_stages(load_pipeline(config_path), say, self_answerer)


def run_stages(
    config: PipelineConfig, say: Say = lambda _: None, self_answerer: SelfAnswerer | None = None
) -> dict[str, str]:
    """Run every configured stage that is not finished from its current inputs; returns stage -> 'ran' | 'skipped'.

    A stage re-runs when its settings or inputs changed since its output was made (lep/stage_record.py),
    and so does everything downstream of it. `self_answerer(instruct, judge, min_grade, max_new_tokens)`
    serves models for self-calibration; the harness passes it in, since serving is the harness's job.
    """
    fetch_hub_ids(config)
    validate(config)
    stages: dict[str, Stage] = {}
    if config.stages.tokenizer:
        stages["tokenizer"] = _tokenizer_stage(config)
    if config.stages.init:
        stages["init"] = _init_stage(config)
    if config.stages.train:
        stages["train"] = _train_stage(config)
    for mode in config.stages.propagate.modes if config.stages.propagate else []:
        stages[f"propagate-{mode}"] = _propagate_stage(config, mode, say)
    if config.stages.calibrate:
        stages["calibrate"] = _calibrate_stage(config, self_answerer)
    status: dict[str, str] = {}
    for name, (out, inputs, build) in stages.items():
        also_clear = (checkpoints_dir(out),) if name == "train" else ()
        status[name] = run_stage(out, inputs, build, say, also_clear=also_clear)
        say(f"{name}: {status[name]}")
    return status
