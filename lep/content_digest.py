"""Content digests of files and folders: what a fingerprint or a stage record compares, never a path."""

import hashlib
from pathlib import Path

FULL_HASH_BYTES = 64 << 20  # larger files (model weights): size, mtime, header and both ends
SAMPLE_BYTES = 16 << 20


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    with path.open("rb") as f:
        if size <= FULL_HASH_BYTES:
            digest.update(f.read())
        else:
            digest.update(f"{size}:{path.stat().st_mtime_ns}".encode())
            digest.update(f.read(SAMPLE_BYTES))
            f.seek(size - SAMPLE_BYTES)
            digest.update(f.read())
    return digest.hexdigest()


def path_digest(path: Path) -> str:
    """sha256 over the relative names and contents of a file or of every file under a folder."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(f"{file.relative_to(path) if path.is_dir() else file.name}:{file_digest(file)}\n".encode())
    return digest.hexdigest()
