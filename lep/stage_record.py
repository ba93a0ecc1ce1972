"""Stage records: a stage's output is reused only while the inputs and settings it was made from are unchanged.

Each stage output dir holds `lep_stage.json`: the stage's settings, a digest of each input (a file or
folder by content; another stage's output by that stage's key) and the key over both. A stage whose
record is finished and whose key matches is skipped; any other output is cleared and rebuilt, and since
a downstream stage's inputs include its upstream's key, everything downstream of a change rebuilds too.
A killed stage (record not finished, same key) keeps its output, so training resumes from its checkpoint.
"""

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lep.atomic_write import write_json
from lep.content_digest import path_digest
from lep.reference_sources import REFERENCE_FILES, reference_sources

RECORD = "lep_stage.json"


def input_digest(value: str | Path) -> str:
    """An input by content: a stage output by its key, a path by its files, a reference tokenizer by its sources."""
    path = Path(value)
    record = _read(path)
    if record and record["finished"]:
        return f"stage:{record['key']}"
    if path.exists():
        return path_digest(path)
    if str(value) in REFERENCE_FILES:
        return hashlib.sha256("".join(path_digest(p) for p in reference_sources(str(value))).encode()).hexdigest()
    return f"name:{value}"


@dataclass(frozen=True)
class StageInputs:
    """What one stage is made from: its settings (JSON values) and its inputs (name -> path, digested)."""

    stage: str
    settings: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)  # a path, or a list of paths

    def digests(self) -> dict[str, Any]:
        return {
            name: [input_digest(v) for v in value] if isinstance(value, list) else input_digest(value)
            for name, value in self.inputs.items()
        }

    def record(self) -> dict[str, Any]:
        body = {"stage": self.stage, "settings": self.settings, "inputs": self.digests()}
        key = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        return {**body, "key": key}


def _read(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / RECORD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The settings and inputs that differ between two records, by name."""
    names = [
        f"{k}"
        for k in sorted(set(old["settings"]) | set(new["settings"]))
        if old["settings"].get(k) != new["settings"].get(k)
    ]
    names += [
        f"input {k}"
        for k in sorted(set(old["inputs"]) | set(new["inputs"]))
        if old["inputs"].get(k) != new["inputs"].get(k)
    ]
    return names


def run_stage(
    out: Path,
    inputs: StageInputs,
    build: Callable[[], object],
    say: Callable[[str], None],
    also_clear: tuple[Path, ...] = (),
) -> str:
    """'skipped' when `out` was finished from these inputs; else clear what is stale (`out` and
    `also_clear`, e.g. training checkpoints made from other inputs), build, record: 'ran'."""
    record, old = inputs.record(), _read(out)
    same = old is not None and old["key"] == record["key"]
    if old is not None and same and old["finished"]:
        return "skipped"
    if old and not same:
        say(f"{inputs.stage}: rebuilding {out}, changed since it was made: {', '.join(changes(old, record))}")
    if not same:
        for path in (out, *also_clear):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    write_json(out / RECORD, {**record, "finished": False})
    build()
    write_json(out / RECORD, {**record, "finished": True})
    return "ran"
