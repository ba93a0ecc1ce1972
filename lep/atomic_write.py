"""Atomic file writes: a killed process leaves the old file or the new one, never half of one.

Written files get the permissions an ordinary `open()` would give them (0666 less the umask), not the
owner-only 0600 of the temporary file they start as.
"""

import json
import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    """The process umask (reading it means setting it; it is restored at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_current_umask())
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_leftovers(folder: Path) -> None:
    """Delete the temporary files a writer killed between writing and renaming left under `folder` (call it when
    a run resumes there; one run writes a folder at a time)."""
    for leftover in Path(folder).rglob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, value: object) -> None:
    write_text(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")
