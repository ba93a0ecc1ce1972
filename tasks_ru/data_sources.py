"""Where each task's data comes from: the files it reads under a data folder, or its hub dataset.

A run's fingerprint hashes exactly these files (or records the hub id and the commit it was read at),
so editing the data, pointing LEP_DATA_DIR elsewhere or a new hub commit is a new run, never a reused
one. tests/unit/tasks_ru/test_data_sources.py checks that every file a loader opens lies under its task's paths here.
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from tasks_ru.errors import TaskDataError

DARUMERU_HUB = "RefalMachine/darumeru"
MMLU_HUB = "NLPCoreTeam/mmlu_ru"
RUCOLA_HUB = "RussianNLP/rucola"
GAZETA_HUB = "dichspace/daru_treeway_eval"
DATA_DIR_ENV = "LEP_DATA_DIR"
FLORES_DEVTEST = "parallel/flores200-devtest"  # FLORES-200 devtest in the data folder, a file per language
FLORES_FILES = {"ru": "rus_Cyrl.devtest", "en": "eng_Latn.devtest"}


@dataclass(frozen=True)
class TaskData:
    """A task's local paths (relative to the data folder: files or folders) and its hub dataset, if any."""

    paths: tuple[str, ...]
    hub_id: str | None = None


_DARUMERU_CONFIGS = ("parus", "rcb", "rwsd", "ruopenbookqa", "ruworldtree", "rummlu", "multiq", "use")
_DARUMERU_COPY = ("cp_sent_en", "cp_sent_ru", "cp_para_en", "cp_para_ru")
TASK_DATA: dict[str, TaskData] = {
    **{f"darumeru_{c}": TaskData((c,), DARUMERU_HUB) for c in _DARUMERU_CONFIGS + _DARUMERU_COPY},
    "darumeru_nlpcoreteam_rummlu": TaskData(("mmlu_ru",), MMLU_HUB),
    "darumeru_nlpcoreteam_enmmlu": TaskData(("mmlu_ru",), MMLU_HUB),
    "darumeru_rucola": TaskData(("rucola",), RUCOLA_HUB),
    "darumeru_gazeta_abstractive": TaskData(("daru_treeway_eval",), GAZETA_HUB),
    "darumeru_gazeta_extractive": TaskData(("daru_treeway_eval",), GAZETA_HUB),
    "ru_open_terra": TaskData(("tasks/terra",)),
    "ru_open_rucola": TaskData(("tasks/rucola",)),
    "ru_open_xwinograd": TaskData(("tasks/xwinograd",)),
    "ru_open_rubq": TaskData(("tasks/rubq",)),
    "ru_open_flores_en_ru": TaskData((FLORES_DEVTEST, "parallel/tatoeba")),
    "ru_open_flores_ru_en": TaskData((FLORES_DEVTEST, "parallel/tatoeba")),
    "ru_open_copy_sent_ru": TaskData(("corpora/ru/wiki-leipzig-10k",)),
    "ru_open_copy_sent_en": TaskData(("corpora/en/wiki-leipzig-10k",)),
    "ru_open_copy_para_ru": TaskData(("corpora/ru/ruslit/prose",)),
    "ru_open_copy_para_en": TaskData(("corpora/en/gutenberg",)),
    "ru_ifeval": TaskData(("tasks/ifeval-arena/ruIFEval_v0.1.jsonl",)),
    "en_ifeval": TaskData(("tasks/ifeval-arena/enIFEval.jsonl",)),
    "bits_per_char_ru": TaskData((f"{FLORES_DEVTEST}/{FLORES_FILES['ru']}",)),
    "bits_per_char_en": TaskData((f"{FLORES_DEVTEST}/{FLORES_FILES['en']}",)),
}


def resolve_data_dir(data_dir: Path | None) -> Path | None:
    """The data folder a run reads: the one given, else $LEP_DATA_DIR, else none (hub datasets)."""
    chosen = data_dir or (Path(os.environ[DATA_DIR_ENV]) if os.environ.get(DATA_DIR_ENV) else None)
    return chosen.resolve() if chosen else None


def data_root(data_dir: str | None) -> Path:
    """The data folder a loader reads (the runner resolved it: --data-dir, else $LEP_DATA_DIR)."""
    if not data_dir:
        raise TaskDataError(f"ru-open and ifeval need the offline data folder: pass --data-dir or set {DATA_DIR_ENV}")
    return Path(data_dir)


def files_digest(root: Path, paths: tuple[str, ...]) -> str:
    """sha256 over the names and contents of every file under `paths` (a missing path counts as absent)."""
    digest = hashlib.sha256()
    for relative in paths:
        top = root / relative
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        digest.update(f"{relative}:{len(files)}\0".encode())
        for file in files:
            digest.update(f"{file.relative_to(root)}\0".encode())
            with file.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def hub_revision(hub_id: str) -> str:
    """The hub dataset's current commit: the run reads it at exactly this commit and records it."""
    from huggingface_hub import HfApi

    try:
        sha = HfApi().dataset_info(hub_id).sha
    except Exception as error:  # offline, no such repo, HTTP errors: the hub client's (httpx) share no base
        raise TaskDataError(
            f"cannot resolve the current commit of hub dataset {hub_id} ({type(error).__name__}): "
            "pass --data-dir with a local copy, or run online"
        ) from None
    if not sha:
        raise TaskDataError(f"hub dataset {hub_id} reports no commit")
    return sha


def source_record(tasks: list[str], data_dir: Path | None) -> dict[str, object]:
    """What each task reads, by content: per task the digest of its files, or its hub id and commit. A task with
    no hub source and no data folder is refused here, before any model loads."""
    if data_dir is not None:
        return {
            "data_dir": str(data_dir),
            "files": {task: files_digest(data_dir, TASK_DATA[task].paths) for task in tasks},
        }
    local_only = [task for task in tasks if TASK_DATA[task].hub_id is None]
    if local_only:
        raise TaskDataError(
            f"{', '.join(local_only)} read(s) local files only: pass --data-dir or set {DATA_DIR_ENV} "
            "(../shared/data, docs/tasks.md)"
        )
    hubs = sorted({hub for task in tasks if (hub := TASK_DATA[task].hub_id)})
    return {"data_dir": None, "hub_revisions": {hub: hub_revision(hub) for hub in hubs}}
