"""Typed checks of user settings, run before anything is loaded or allocated, every problem at once.

Each input kind declares its limits on its own fields (a dataclass or pydantic model with the
annotated types below); `check_fields` validates a mapping against it and turns all of pydantic's
errors into one line that names every bad setting, so a user fixes a config in one round, and a
`--seq-len 0` is an error in milliseconds rather than an out-of-memory kill minutes later.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, Strict, TypeAdapter, ValidationError, ValidationInfo

from lep.errors import InputError
from lep.hub_models import hub_id

T = TypeVar("T")

# Whole numbers are strict (no "5", 5.0 or true), so a quoted or fractional YAML value is reported, not rounded.
PositiveInt = Annotated[int, Strict(), Field(ge=1)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Score = Annotated[float, Strict(), Field(allow_inf_nan=False)]

MAX_SEQ_LEN = 65536  # far past every model here; a larger value is a typo that would allocate tens of GB
MAX_BATCH = 4096
MAX_ITERATIONS = 1_000_000
MAX_VOCAB = 1_048_576


def _location(loc: tuple, values: Any) -> str:
    """A field's path in words: `stages.train.seq_len`, list items by their `name` where they have one
    (`models[base].path`), else by index (`suites[0]`)."""
    words = ""
    for part in loc:
        if isinstance(part, int):
            item = values[part] if isinstance(values, list) and part < len(values) else None
            label = item.get("name") if isinstance(item, Mapping) else None
            words += f"[{label if isinstance(label, str) else part}]"
            values = item
        else:
            words += f".{part}" if words else str(part)
            values = values.get(part) if isinstance(values, Mapping) else None
    return words


def _describe(error: Mapping[str, Any], values: Any = None) -> str:
    where = _location(error["loc"], values) or "value"
    if error["type"] == "value_error":  # a rule of the schema's own: its message says what to do
        shown = repr(error["input"])
        if not error["loc"] or isinstance(error["input"], Mapping | list) or len(shown) > 60:
            return f"{where}: {error['ctx']['error']!s}" if error["loc"] else str(error["ctx"]["error"])
        return f"{where}={shown} {error['ctx']['error']!s}"
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown setting {where!r}"
    if error["type"] == "missing":
        return f"{where} is missing"
    shown = repr(error["input"])
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{where}={shown}: {error['msg'].replace('Input should be', 'must be')}"


def problems_of(kind: Any, values: Any, context: dict[str, Any] | None = None) -> list[str]:
    """Every problem pydantic finds in `values` as `kind` (a dataclass, model or type); [] when valid."""
    try:
        TypeAdapter(kind).validate_python(values, context=context)
    except ValidationError as error:
        return [_describe(e, values) for e in error.errors()]
    return []


def check_fields(kind: type[T], values: Any, where: str, fix: str = "", context: dict[str, Any] | None = None) -> T:
    """`values` validated as `kind` (an instance of it), or one InputError naming every bad field.

    `context` reaches the schema's validators (e.g. the folder that relative paths resolve against)."""
    try:
        return TypeAdapter(kind).validate_python(values, context=context)
    except ValidationError as error:
        raise_problems(where, [_describe(e, values) for e in error.errors()], fix)
    raise AssertionError("unreachable")


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    """A config file's top-level mapping; a missing, binary or malformed file, or one that is no mapping, is one
    InputError naming the file (and the line where YAML broke)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not a text file (not UTF-8): give a YAML file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{what} {path} is not valid YAML{line}: {getattr(error, 'problem', None) or error}") from None
    if raw is None:
        raise InputError(f"{what} {path} is empty: give its settings as a YAML mapping")
    if not isinstance(raw, dict):
        raise InputError(f"{what} {path} must be a YAML mapping of settings, not {type(raw).__name__}")
    return raw


def raise_problems(where: str, problems: list[str], fix: str = "") -> None:
    """Raise one InputError listing all `problems` (nothing when there are none)."""
    if problems:
        raise InputError(f"{where}: {'; '.join(problems)}" + (f" ({fix})" if fix else ""))


def _component_problem(value: str) -> str | None:
    if not value.strip():
        return "is empty: give a name such as my-model"
    if "/" in value or "\\" in value or value.startswith(".") or "\0" in value or len(value) > 200:
        return "would leave the output dir: use letters, digits, '-', '_' and '.', without '/' or a leading '.'"
    return None


def _as_component(value: str) -> str:
    if problem := _component_problem(value):
        raise ValueError(problem)
    return value


PathComponent = Annotated[str, Strict(), AfterValidator(_as_component)]  # a name that becomes one folder


def config_folder(info: ValidationInfo) -> Path | None:
    """The folder a config's relative paths start at (the validation context's `base`: the config's own folder,
    or one its caller names); None when validated without one (the command line: the working dir)."""
    base = (info.context or {}).get("base")
    return None if base is None else Path(base)


def from_config_folder(value: str, info: ValidationInfo) -> str:
    """A relative path of a config file, resolved against its `config_folder`; as given without one."""
    base = config_folder(info)
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    return value if base is None else str((base / path).resolve())


def model_or_path(value: str, info: ValidationInfo) -> str:
    """A hub id (org/name[@revision]) as given, unless a path of that name is beside the config (a local dir wins;
    lep/hub_models.py); any other value as a path from the config's folder."""
    return value if hub_id(value, config_folder(info)) else from_config_folder(value, info)


# A path in a config file: relative to the config's folder (or the folder its caller names)
ConfigPath = Annotated[Path, AfterValidator(lambda value, info: Path(from_config_folder(str(value), info)))]


def safe_name(value: str, what: str) -> str:
    """`value` if it can be one path component under an output dir (no separator, no '..', no leading dot)."""
    if problem := _component_problem(value):
        raise InputError(f"{what} {value!r} {problem}")
    return value


def check_output_file(path: Path, what: str) -> None:
    """`path` can be written as a file: it is not a directory, and its folder can be made and written."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a file: give a file path")
    check_output_dir(path.parent, f"{what} {path}: its folder")


def check_output_dir(path: Path, what: str = "--out") -> None:
    """`path` can become a directory: it is not a file, and its nearest existing ancestor is a writable dir."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} {path} is a file, not a directory: choose a directory path")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{what} {path}: {existing} is a file, so no directory can be made under it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: {existing} is not writable; choose a directory you can write to")
