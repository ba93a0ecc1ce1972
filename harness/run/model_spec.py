"""What a model under test is: where its weights and tokenizer are, how it is prompted, and a
fingerprint that changes whenever any of that changes (so no stale run is ever reused).

On the command line a spec is a model directory, a named model (`smollm2-135m-instruct`, imported
from its installed package by `resolve_named`, see harness/run/gguf_import.py), or `key=value` pairs
separated by commas:
`path=out/model,name=tiny,kind=base,tokenizer=out/tok,dtype=float32,max_length=2048,chat_template=t.jinja`.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, ConfigDict, Field, Strict, ValidationInfo

from harness.run.gguf_import import NAMED_MODELS, named_model_dir
from lep.content_digest import file_digest, path_digest
from lep.errors import InputError
from lep.reference_sources import REFERENCE_FILES, reference_sources
from lep.safetensors_header import check_safetensors
from lep.validation import PathComponent, check_fields, from_config_folder

Kind = Literal["base", "instruct"]
KINDS: tuple[str, ...] = get_args(Kind)
Dtype = Literal["auto", "float32", "float16", "bfloat16", "float", "half"]  # what both HF and vLLM accept
DTYPES: tuple[str, ...] = get_args(Dtype)
MAX_MODEL_LENGTH = 1 << 20
# The context a model is evaluated with unless its spec says max_length: its own, capped as llmtf
# (958750c) caps it for the published rows (VLLMModel: min(max_model_len, max_seq_len_to_capture=4096));
# lm-eval then leaves the prompt that minus the task's max_gen_toks.
CONTEXT_CAP = 4096
FALLBACK_CONTEXT = 2048  # a config without max_position_embeddings


def _path_or_name(value: str, info: ValidationInfo) -> str:
    """A named model or reference tokenizer as it is; a path relative to its config's folder (experiment YAMLs)."""
    return value if value in NAMED_MODELS or value in REFERENCE_FILES else from_config_folder(value, info)


SpecPath = Annotated[str, Strict(), Field(min_length=1), AfterValidator(_path_or_name)]


@dataclass(frozen=True)
class ModelSpec:
    """One model to evaluate; `path` is a local Hugging Face directory (hub ids when online)."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    name: PathComponent  # the run dir's folder, so checked before it becomes a path
    path: SpecPath  # a model dir, or a named model (resolve_named imports it)
    kind: Kind = "instruct"
    tokenizer: SpecPath | None = None  # defaults to the model's own; a path or a reference tokenizer name
    chat_template: SpecPath | None = None  # a Jinja file replacing the tokenizer's template
    dtype: Dtype = "float32"
    max_length: Annotated[int, Strict(), Field(ge=16, le=MAX_MODEL_LENGTH)] | None = None  # see context_length

    @property
    def tokenizer_path(self) -> str:
        return self.tokenizer or self.path

    def context_length(self) -> int:
        """Tokens of prompt plus generation: `max_length`, else the model's max_position_embeddings
        capped at CONTEXT_CAP (a fixed 2048 cut SmolLM2's 8k-context copy prompts short)."""
        if self.max_length is not None:
            return self.max_length
        positions = _config(Path(self.path)).get("max_position_embeddings") or FALLBACK_CONTEXT
        return min(int(positions), CONTEXT_CAP)

    def record(self) -> dict:
        return asdict(self)


def check_spec(values: dict, where: str) -> ModelSpec:
    """A ModelSpec from a mapping (command line or experiment YAML), every bad field named at once."""
    return check_fields(ModelSpec, values, where)


def parse_spec(text: str) -> ModelSpec:
    """A spec from the command line: a directory, or key=value pairs (see the module docstring)."""
    if "=" not in text:
        return check_spec({"name": Path(text).name or text, "path": text}, f"model spec {text!r}")
    values: dict[str, str] = {}
    known = {f.name for f in fields(ModelSpec)}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise InputError(f"model spec {text!r}: {part!r} is not one of {', '.join(sorted(known))} as key=value")
        values[key] = value.strip()
    if "path" not in values:
        raise InputError(f"model spec {text!r} has no path=: give the model directory")
    values.setdefault("name", Path(values["path"]).name)
    checked: dict[str, str | int] = dict(values)
    if "max_length" in values:
        length = values["max_length"]
        checked["max_length"] = int(length) if length.lstrip("-").isdigit() else length
    return check_spec(checked, f"model spec {text!r}")


def resolve_named(spec: ModelSpec) -> ModelSpec:
    """The spec with a named model's path replaced by its imported dir (importing it on first use: a minute)."""
    return replace(spec, path=str(named_model_dir(spec.path))) if spec.path in NAMED_MODELS else spec


def _config(path: Path) -> dict:
    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}/config.json cannot be read ({e}): is this a Hugging Face model directory?") from None


def validate(spec: ModelSpec) -> None:
    """Fail early, with the fix, on what would otherwise fail deep inside a backend."""
    if spec.kind not in KINDS:
        raise InputError(f"model {spec.name}: kind {spec.kind!r} is not one of {', '.join(KINDS)}")
    path = Path(spec.path)
    if not path.is_dir():
        raise InputError(
            f"model {spec.name}: {spec.path} does not exist or is not a directory (give a local Hugging Face model dir)"
        )
    check_safetensors(sorted(path.glob("*.safetensors")))
    if spec.chat_template and not Path(spec.chat_template).is_file():
        raise InputError(f"model {spec.name}: chat template file {spec.chat_template} not found")
    rows = _config(path).get("vocab_size")
    from lep.reference_tokenizers import load_tokenizer

    tokenizer = load_tokenizer(spec.tokenizer_path)
    if rows is not None and len(tokenizer) > rows:
        raise InputError(
            f"model {spec.name}: the tokenizer has {len(tokenizer)} tokens but the model only {rows} embedding rows; "
            "use the model's own tokenizer or resize the model (lep-bench adapt init)"
        )
    if spec.kind == "instruct" and not (spec.chat_template or tokenizer.chat_template):
        raise InputError(
            f"model {spec.name}: an instruct model needs a chat template (the tokenizer has none): add "
            "chat_template=FILE or kind=base"
        )


def _reference_fingerprint(name: str) -> str:
    """A reference tokenizer by what builds it: its package file and the code and settings that convert it."""
    digest = hashlib.sha256()
    for path in reference_sources(name):
        digest.update(f"{path.name}:{file_digest(path)}\n".encode())
    return digest.hexdigest()


def fingerprints(spec: ModelSpec) -> dict[str, str]:
    """Model, tokenizer and chat-template fingerprints by content (hub ids are fingerprinted by name)."""
    out = {}
    for key, value in (("model", spec.path), ("tokenizer", spec.tokenizer_path), ("chat_template", spec.chat_template)):
        if not value:
            continue
        if Path(value).exists():
            out[key] = path_digest(Path(value))
        elif value in REFERENCE_FILES:
            out[key] = _reference_fingerprint(value)
        else:
            out[key] = hashlib.sha256(value.encode()).hexdigest()
    return out
