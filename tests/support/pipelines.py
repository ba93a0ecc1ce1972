"""A small LEP pipeline (a tied Mistral base and its OpenChat stand-in, every stage): fixtures for the pipeline's
tests and for serving its result through vLLM (a pytest plugin of the root conftest)."""

from pathlib import Path

import pytest
import yaml

from harness.demo.small_models import build_small_model
from harness.tokenizers.sample import SAMPLE_DIR
from lep.pipeline import run_pipeline


@pytest.fixture(scope="session")
def pipeline_models(tmp_path_factory, reference_tokenizer) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    build_small_model(reference_tokenizer("mistral-7b"), folder / "base", "mistral", tied=True, seed=1)
    build_small_model(reference_tokenizer("openchat-3.5"), folder / "instruct", "mistral", tied=True, seed=2)
    return folder


def pipeline_config(folder: Path, stages: dict, name: str = "pipeline.yaml") -> Path:
    config = {
        "workdir": "work",
        "base_model": "base",
        "instruct_model": "instruct",
        "corpus": [str(SAMPLE_DIR)],
        "stages": stages,
    }
    path = folder / name
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


STAGES = {
    "tokenizer": {"method": "extend", "new_vocab_size": 900},
    "init": {},
    "train": {
        "seq_len": 64,
        "global_batch": 4,
        "per_device_batch": 4,
        "max_steps": 4,
        "warmup_steps": 0,
        "save_steps": 2,
    },
    "propagate": {"modes": ["swap", "conversion"]},
}


@pytest.fixture(scope="session")
def finished_pipeline(pipeline_models) -> Path:
    status = run_pipeline(pipeline_config(pipeline_models, STAGES))
    assert set(status.values()) == {"ran"}
    return pipeline_models / "work"
