"""Check safetensors files from their headers before a model is loaded.

A truncated download or a corrupt file otherwise fails deep inside safetensors or transformers with
a traceback; reading the 8-byte length, the JSON header and the file size takes microseconds.
"""

import json
import struct
from pathlib import Path

from lep.errors import InputError

MAX_HEADER_BYTES = 100 << 20


def _problem(file: Path) -> str | None:
    """Why `file` is not a complete safetensors file, or None when its header and size agree."""
    size = file.stat().st_size
    with file.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            return "shorter than a safetensors header"
        (length,) = struct.unpack("<Q", prefix)
        if length > min(size - 8, MAX_HEADER_BYTES):
            return "its header length is past the end of the file"
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "its header is not JSON"
    if not isinstance(header, dict):
        return "its header is not a mapping of tensors"
    try:
        end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
    except (TypeError, KeyError, IndexError):
        return "its header has a tensor without data_offsets"
    if 8 + length + end > size:
        return f"it is truncated ({size:,} bytes, its header needs {8 + length + end:,})"
    return None


def check_safetensors(files: list[Path]) -> None:
    """Raise one InputError naming every incomplete or corrupt file of a model."""
    bad = [(file, problem) for file in files if (problem := _problem(file))]
    if bad:
        details = "; ".join(f"{file}: {problem}" for file, problem in bad)
        raise InputError(f"corrupt weights: {details} (download or save the model again)")
