"""Stage outputs in a sibling temp dir and move them into place only when complete.

A killed or failed stage leaves no half-written output behind, and a finished output dir
always holds its manifest (the marker a resumable pipeline looks for).
"""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lep.errors import InputError
from lep.validation import check_output_dir


def check_free(out: Path, overwrite: bool) -> None:
    """`out` can be written: a new or empty dir, or an existing one with `overwrite`."""
    check_output_dir(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} already exists and is not empty; choose another --out or pass --overwrite")


@contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield an empty dir beside `out`; on success it replaces `out`, on failure it is removed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
