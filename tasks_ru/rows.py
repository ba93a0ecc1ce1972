"""Hub rows as the task loaders read them, from a local mirror of the hub or from the hub itself.

A local copy mirrors the hub exactly: `DIR/<config>/<split>.jsonl`, one hub row per line, the same field
names and nesting as the rows `datasets.load_dataset(hub_id, config)[split]` yields (a dataset without
configs uses its own name as <config>). Every error names the file, the row and the field, so a bad
copy is fixed in one look.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks_ru.errors import TaskDataError

if TYPE_CHECKING:  # `datasets` (pyarrow, pandas) is imported when docs are built, not with the harness
    import datasets

Docs = dict[str, "datasets.Dataset"]  # a loader's result: split name -> docs
DEFAULT_KIND = "instruct"
# per-model / per-run doc fields, left out of the data hash
NON_DATA_FIELDS = ("tokenizer", "src_tokens", "scoring", "sep")
TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object", bool: "a boolean"}


@dataclass(frozen=True)
class Row:
    """One hub row and where it came from ("file:line" or "hub/config/split row N")."""

    data: dict[str, Any]
    where: str

    def get(self, path: str, kind: type | tuple[type, ...] = object) -> Any:
        """The value at a dotted path ("inputs.text"), checked to be of `kind`."""
        value: Any = self.data
        for i, name in enumerate(path.split(".")):
            if not isinstance(value, dict) or name not in value:
                parent = ".".join(path.split(".")[:i]) or "the row"
                has = sorted(value) if isinstance(value, dict) else type(value).__name__
                raise TaskDataError(f"{self.where}: field {path!r} is missing ({parent} has {has})")
            value = value[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if kind is not object and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            expected = " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise TaskDataError(
                f"{self.where}: field {path!r} should be {expected}, not {type(value).__name__} {value!r:.60}"
            )
        return value

    def fail(self, message: str) -> TaskDataError:
        return TaskDataError(f"{self.where}: {message}")


def _read_jsonl(path: Path) -> list[Row]:
    if not path.is_file():
        raise TaskDataError(
            f"task data file not found: {path} (a local copy is DIR/<config>/<split>.jsonl, one hub row per line)"
        )
    rows = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as e:
                raise TaskDataError(f"{path}:{line_no}: not a JSON row ({e.msg})") from None
            if not isinstance(data, dict):
                raise TaskDataError(f"{path}:{line_no}: a row must be a JSON object, not {type(data).__name__}")
            rows.append(Row(data, f"{path}:{line_no}"))
    if not rows:
        raise TaskDataError(f"{path}: the split is empty (no rows)")
    return rows


def read_split(hub_id: str, config: str, split: str, data_dir: str | None, revision: str | None = None) -> list[Row]:
    """The rows of one split: `data_dir/<config>/<split>.jsonl` when a data dir is given, else the hub at
    `revision` (the commit the run pinned and recorded; None: the hub's current one)."""
    if data_dir:
        return _read_jsonl(Path(data_dir) / config / f"{split}.jsonl")
    import datasets

    name = None if config == hub_id.split("/")[-1] else config
    loaded = datasets.load_dataset(hub_id, name, split=split, revision=revision)
    rows = [Row(r, f"{hub_id}/{config}/{split} row {i}") for i, r in enumerate(loaded.to_list(), 1)]
    if not rows:
        raise TaskDataError(f"{hub_id}/{config}/{split}: the split is empty (no rows)")
    return rows


def read_local_rows(path: Path) -> list[Row]:
    """Rows of a local file that is not a hub mirror (ru-open's csv/json/jsonl sources)."""
    import csv

    if not path.is_file():
        raise TaskDataError(f"task data file not found: {path}")
    try:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as f:
                rows = list(csv.DictReader(f))
            return [Row(r, f"{path}:{i}") for i, r in enumerate(rows, 2)]
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json" and text.lstrip().startswith("["):
            return [Row(r, f"{path} item {i}") for i, r in enumerate(json.loads(text), 1)]
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as e:
        raise TaskDataError(f"cannot parse {path}: {e}") from None
    return _read_jsonl(path)


def read_lines(path: Path) -> list[str]:
    """A task's one-item-a-line file, or a TaskDataError naming the file that is missing."""
    if not path.is_file():
        raise TaskDataError(f"task data file not found: {path}")
    return path.read_text(encoding="utf-8").splitlines()


def dataset(docs: list[dict]) -> "datasets.Dataset":
    """Docs as the `datasets.Dataset` lm-eval expects from a custom loader."""
    import datasets

    return datasets.Dataset.from_list(docs)
