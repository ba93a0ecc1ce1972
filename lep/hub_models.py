"""Hugging Face hub ids wherever a model or tokenizer is named: `org/name`, or `org/name@revision` (a branch, tag
or commit; default: main).

Why one module, at the edge: lm-eval, lighteval and vLLM take hub ids, and so does every place lep-bench names a
model or tokenizer (`--model` specs, experiment and pipeline YAMLs, `--base`, `--tokenizer`), while everything
past that point (the stages, the backends, the vLLM server, content digests) works on local dirs. So an id is
resolved once, by huggingface_hub itself, to the snapshot its cache holds (downloaded first when online; the
client reads HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE and the token), and what a fingerprint records is the
commit that snapshot is, never the cache path: a new commit of the same id is a new run, the same commit in
another cache the same run. A local path wins: text is a hub id only when no file or folder of that name exists.
"""

from dataclasses import dataclass
from pathlib import Path

from lep.errors import InputError

# What a tokenizer needs of a repo: its files, not the weights (a tokenizer of an 8B model is a few MB of them)
TOKENIZER_FILES = ["*.json", "*.model", "*.tiktoken", "*.txt", "*.jinja"]


@dataclass(frozen=True)
class HubRevision:
    """A hub repo at the commit a revision named when it was resolved."""

    id: str
    revision: str  # as asked: a branch, tag or commit
    commit: str  # the 40-hex commit of the snapshot used

    def fingerprint(self) -> str:
        """What a run's fingerprint keeps: the repo and its commit (not the revision's name, not the cache path)."""
        return f"hub:{self.id}@{self.commit}"


def hub_id(text: str | Path, base: Path | None = None) -> tuple[str, str] | None:
    """(id, revision) when `text` names a hub repo: `org/name[@revision]` by the hub's own id rules, and no path
    of that name exists (relative to `base`, a config's folder, when given; else to the working dir)."""
    from huggingface_hub.constants import DEFAULT_REVISION
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    text = str(text)
    repo, sep, revision = text.partition("@")
    if repo.count("/") != 1 or (sep and not revision.strip()) or ((base or Path()) / text).exists():
        return None
    try:
        validate_repo_id(repo)
    except HFValidationError:
        return None
    return repo, revision or DEFAULT_REVISION


def _fetch(repo: str, revision: str, files: list[str] | None) -> str:
    """The snapshot dir of the repo at `revision` in huggingface_hub's cache (downloaded when online), or one
    InputError with the fix."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    named = f"{repo}@{revision}"
    download = f"hf download {repo} --revision {revision}"
    try:
        return snapshot_download(
            repo, revision=revision, allow_patterns=files, local_files_only=constants.HF_HUB_OFFLINE
        )
    except IncompleteSnapshotError:
        raise InputError(
            f"the cached snapshot of {named} in {constants.HF_HUB_CACHE} is incomplete: finish it online ({download})"
        ) from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE=1" if constants.HF_HUB_OFFLINE else "the hub cannot be reached"
        raise InputError(
            f"hub id {named} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and {why}: download it once "
            f"online ({download}) or give a local directory"
        ) from None
    except RevisionNotFoundError:
        raise InputError(
            f"{repo} has no revision {revision!r} on the Hugging Face hub: give a branch, tag or commit"
        ) from None
    except RepositoryNotFoundError:
        raise InputError(
            f"{repo} is neither a local path nor a repo on the Hugging Face hub (a private or gated one needs a login: "
            "hf auth login, or HF_TOKEN)"
        ) from None


def resolve(text: str, base: Path | None = None, files: list[str] | None = None) -> tuple[str, HubRevision | None]:
    """The local path `text` names and, when it is a hub id, the revision its snapshot was resolved at; a relative
    path that exists under `base` comes back joined to it, any other text (a path, a reference name) as it is, with
    None. `files`: only these patterns (a tokenizer)."""
    named = hub_id(text, base)
    if named is None:
        beside = base / text if base is not None and not Path(text).is_absolute() else None
        return (str(beside) if beside is not None and beside.exists() else text), None
    repo, revision = named
    snapshot = _fetch(repo, revision, files)
    return snapshot, HubRevision(repo, revision, commit=Path(snapshot).name)  # the hub names snapshots by commit


def local_path(text: str | Path, base: Path | None = None, files: list[str] | None = None) -> str:
    """`text` as a local path: a hub id's cached snapshot (see `resolve`), anything else as it is."""
    return resolve(str(text), base, files)[0]
