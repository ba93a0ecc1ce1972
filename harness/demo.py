"""The embedded default of `lep-bench compare`: the whole method and benchmark on demo-scale models.

Every stage goes through the code a real run uses, offline, from text shipped with lep-bench:
a small Mistral-architecture base model with the real Mistral-7B tokenizer is built and briefly
pretrained (all weights) on the embedded text; its stand-in "instruct" model (every weight perturbed,
the OpenChat-3.5 tokenizer) plays OpenChat-3.5; the LEP pipeline (an `extend` Russian vocabulary,
initialisation, embeddings-only training, Swap / Overlap / Conversion) adapts it; the original and the
three propagated models run the ru-open suite on the embedded task set (same file formats as the
offline data) through the vLLM server when vLLM is installed (else HF); the report compares them with
the paper's published rows. Each step is skipped when its output exists, so an interrupted demo resumes.

With LEP_DATA_DIR set, the pipeline trains on its Wikipedia sentences and ru-open runs on the real
task data (first 20 items per task): a larger, slower run.
"""

import os
from importlib.resources import files
from pathlib import Path
from typing import Callable

import yaml

from harness.compare import Experiment, run_experiment
from harness.model_spec import ModelSpec
from lep.embedding_training import TRAIN_MANIFEST, TrainSettings, train_embeddings
from lep.pipeline import run_pipeline
from lep.reference_tokenizers import load_tokenizer
from lep.small_models import build_small_model, derive_instruct

DEMO_NOTE = (
    "Demo-scale models: a 4M-parameter Mistral-architecture model briefly trained on a few KB of text shipped with "
    "lep-bench, its stand-in instruct model, and that model adapted by LEP on the same text. The scores show the whole "
    "pipeline and benchmark working end to end; they say nothing about real model quality. The published rows are the "
    "paper's 7-8B models on Darumeru, shown for the layout only."
)
MODES = ("swap", "overlap", "conversion")


def embedded_text() -> list[Path]:
    folder = Path(str(files("harness").joinpath("sample_text")))
    return [folder / "ru.txt", folder / "en.txt"]


def embedded_tasks() -> Path:
    return Path(str(files("tasks_ru").joinpath("demo_data")))


def _models(work: Path, corpus: list[Path]) -> tuple[Path, Path]:
    """The base model (built, then briefly pretrained) and its instruct stand-in; reused when present."""
    base, instruct = work / "models" / "base", work / "models" / "instruct"
    if not (base / TRAIN_MANIFEST).is_file():
        build_small_model(load_tokenizer("mistral-7b"), work / "models" / "base-init", architecture="mistral", hidden_size=64, layers=2, seed=0)
        settings = TrainSettings(seq_len=64, global_batch=8, per_device_batch=8, learning_rate=3e-3, warmup_steps=5, max_steps=60,
                                 save_steps=20, logging_steps=10, full_model=True, seed=0)
        train_embeddings(work / "models" / "base-init", corpus, base, settings)
    if not (instruct / "config.json").is_file():
        derive_instruct(base, load_tokenizer("openchat-3.5"), instruct, noise=0.02, seed=1)
    return base, instruct


def _pipeline(work: Path, base: Path, instruct: Path, corpus: list[Path], console) -> Path:
    config = {
        "workdir": str(work / "lep"),
        "base_model": str(base),
        "instruct_model": str(instruct),
        "corpus": [str(p) for p in corpus],
        "stages": {
            "tokenizer": {"method": "extend", "new_vocab_size": 2000},
            "init": {},
            "train": {"seq_len": 64, "global_batch": 8, "per_device_batch": 8, "max_steps": 30, "warmup_steps": 3, "save_steps": 10, "learning_rate": 3e-3},
            "propagate": {"modes": list(MODES)},
        },
    }
    path = work / "pipeline.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    run_pipeline(path, console=console)
    return work / "lep"


def demo_experiment(work: Path, reports: Path, backend: str, console=None, progress: Callable[[str], None] = print) -> Experiment:
    """Build (or reuse) every model of the demo and return its experiment, ready for run_experiment."""
    work = work.resolve()
    data = os.environ.get("LEP_DATA_DIR")
    corpus = [Path(data) / "corpora" / "ru" / "wiki-leipzig-10k"] if data else embedded_text()
    progress("demo: base and instruct models")
    base, instruct = _models(work, embedded_text())
    progress("demo: LEP pipeline (tokenizer, init, embeddings-only training, propagation)")
    lep = _pipeline(work, base, instruct, corpus, console)
    models = [(ModelSpec(name="instruct-original", path=str(instruct), kind="instruct"), "reference")]
    models += [(ModelSpec(name=f"lep-{mode}", path=str(lep / f"propagate-{mode}"), kind="instruct"), "candidate") for mode in MODES]
    return Experiment(
        name="demo", models=models, suites=["ru-open"], backend=backend, data_dir=Path(data) if data else embedded_tasks(),
        limit=20 if data else None, runs=work / "runs", reports=reports, published=["table1", "table3"], note=DEMO_NOTE,
    )


def run_demo(work: Path, reports: Path, backend: str, console=None, progress: Callable[[str], None] = print) -> tuple[Experiment, list[tuple[Path, str]]]:
    experiment = demo_experiment(work, reports, backend, console, progress)
    return experiment, run_experiment(experiment, progress=progress)
