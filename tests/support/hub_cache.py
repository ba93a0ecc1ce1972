"""A Hugging Face cache laid out exactly as the hub client writes it, with no network: `hub_cache` (a pytest
plugin of the root conftest) points HF_HOME at an empty one, offline; `add_snapshot` puts a folder's files in it
as one commit of a repo; `model_files` is what a spec, a fingerprint or a pipeline reads of a model without
loading it.

    <cache>/models--org--name/blobs/<git sha1, or sha256 of an LFS file>
    <cache>/models--org--name/snapshots/<40-hex commit>/<file> -> ../../blobs/<hash>   (relative symlinks)
    <cache>/models--org--name/refs/<branch>                                            (the commit, no newline)
"""

import hashlib
import os
from pathlib import Path

import pytest
from huggingface_hub import constants

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".model")  # stored as LFS files on the hub: blob = sha256


def _blob_name(file: Path) -> str:
    """The hub's etag of a file, which names its blob: sha256 for LFS files, else the git blob sha1."""
    data = file.read_bytes()
    if file.suffix in LFS_SUFFIXES:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def add_snapshot(cache: Path, repo: str, source: Path, commit: str, refs: tuple[str, ...] = ("main",)) -> Path:
    """`source`'s files as commit `commit` of `repo` in `cache`, each of `refs` pointing at it; the snapshot dir."""
    storage = cache / f"models--{repo.replace('/', '--')}"
    snapshot = storage / "snapshots" / commit
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        blob = storage / "blobs" / _blob_name(file)
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            blob.write_bytes(file.read_bytes())
        link = snapshot / file.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    for ref in refs:
        (storage / "refs").mkdir(exist_ok=True)
        (storage / "refs" / ref).write_text(commit)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty cache under HF_HOME, offline: the environment for what this process starts, and the client's
    constants, which it reads once at import, for this one."""
    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return home / "hub"


@pytest.fixture
def model_files(tmp_path) -> Path:
    """A model folder's files as far as specs, fingerprints and configs read them, without weights to load."""
    folder = tmp_path / "model-files"
    folder.mkdir()
    (folder / "config.json").write_text('{"max_position_embeddings": 1024, "vocab_size": 8}')
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder
