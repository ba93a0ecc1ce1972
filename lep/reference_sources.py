"""What each reference tokenizer is built from: a file a PyPI package ships, and the code that converts it.

Light (no transformers), so that the CLI lists the names and a fingerprint hashes the sources without
building the tokenizer (lep/reference_tokenizers.py builds them).
"""

import importlib.resources
from pathlib import Path

from lep.errors import TokenizerError

LLAMA3_FILE = ("llama_models", "llama3/tokenizer.model")
MISTRAL_FILE = ("mistral_common", "data/tokenizer.model.v1")
REFERENCE_FILES = {
    "llama-3": LLAMA3_FILE,
    "llama-3-instruct": LLAMA3_FILE,
    "mistral-7b": MISTRAL_FILE,
    "openchat-3.5": MISTRAL_FILE,
}
REFERENCE_NAMES = tuple(REFERENCE_FILES)


def package_file(package: str, relative: str) -> Path:
    try:
        path = Path(str(importlib.resources.files(package).joinpath(relative)))
    except ModuleNotFoundError:
        raise TokenizerError(f"the package {package} is not installed; run ./setup.sh to install lep-bench") from None
    if not path.is_file():
        raise TokenizerError(f"{package} does not ship {relative}; reinstall it with ./setup.sh")
    return path


def reference_sources(name: str) -> list[Path]:
    """A reference tokenizer's package file and the module whose settings and code convert it."""
    return [package_file(*REFERENCE_FILES[name]), Path(__file__).with_name("reference_tokenizers.py")]
