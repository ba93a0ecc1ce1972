"""How a report names a path: relative to the run store, the data folder or the folder lep-bench ran in, never
as this machine's absolute path, so that a committed report reads the same on every machine."""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def anchors(run_dirs: Iterable[Path], data_dirs: Iterable[str | None]) -> dict[str, str]:
    """Absolute folder -> the label a report uses for it: <runs> (each run's store: runs/<model>/<suite>/<id>),
    <data> (the task data folder) and the working directory (dropped, leaving a relative path)."""
    found = {str(Path(run).resolve().parents[2]): "<runs>" for run in run_dirs}
    found |= {str(Path(data).resolve()): "<data>" for data in data_dirs if data}
    return {str(Path.cwd()): "."} | found


def portable(value: Any, labels: dict[str, str]) -> Any:
    """`value` (a string, or JSON-like data) with every absolute path under an anchor written relative to it."""
    if isinstance(value, dict):
        return {k: portable(v, labels) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable(v, labels) for v in value]
    if not isinstance(value, str):
        return value
    for folder in sorted(labels, key=len, reverse=True):  # the deepest anchor first: <runs> inside the cwd
        value = labels[folder] if value == folder else value.replace(folder + "/", labels[folder] + "/")
    return value


def portable_json(value: Any, labels: dict[str, str]) -> str:
    return json.dumps(portable(value, labels), ensure_ascii=False, indent=1)
