"""What a model under test is: where its weights and tokenizer are, how it is prompted, and a
fingerprint that changes whenever any of that changes (so no stale run is ever reused).

On the command line a spec is a model directory, a named model (`smollm2-135m-instruct`, imported
from its installed package, see harness/run/gguf_import.py), a Hugging Face hub id (`org/name` or
`org/name@revision`, read from the hub's cache: lep/hub_models.py), or `key=value` pairs separated by commas:
`path=out/model,name=tiny,kind=base,tokenizer=out/tok,dtype=float32,max_length=2048,chat_template=t.jinja`.
`resolve_spec` turns the named model or hub id into a local dir before a spec is used.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import AfterValidator, ConfigDict, Field, Strict, ValidationInfo

from harness.run.gguf_import import NAMED_MODELS, named_model_dir
from lep.content_digest import file_digest, path_digest
from lep.errors import InputError
from lep.hub_models import TOKENIZER_FILES, HubRevision, hub_id, resolve
from lep.reference_sources import REFERENCE_FILES, reference_sources
from lep.safetensors_header import check_safetensors
from lep.validation import PathComponent, check_fields, from_config_folder, model_or_path

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
    """A named model, reference tokenizer or hub id as it is; a path relative to its config's folder (experiment
    YAMLs)."""
    return value if value in NAMED_MODELS or value in REFERENCE_FILES else model_or_path(value, info)


def _resolved_only(value: HubRevision | None, info: ValidationInfo) -> HubRevision | None:
    """A config file (validated with a folder) cannot set what resolve_spec records."""
    if value is not None and info.context is not None:
        raise ValueError("is recorded when path or tokenizer is a hub id, not set: leave it out")
    return value


SpecPath = Annotated[str, Strict(), Field(min_length=1), AfterValidator(_path_or_name)]
ConfigFile = Annotated[str, Strict(), Field(min_length=1), AfterValidator(from_config_folder)]
Resolved = Annotated[HubRevision | None, AfterValidator(_resolved_only)]
RESOLVED = ("hub_model", "hub_tokenizer")  # not keys of a spec: what resolve_spec found


@dataclass(frozen=True)
class ModelSpec:
    """One model to evaluate; `path` is a local Hugging Face directory once `resolve_spec` has run."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    name: PathComponent  # the run dir's folder, so checked before it becomes a path
    path: SpecPath  # a model dir, a named model or a hub id (resolve_spec makes the last two a local dir)
    kind: Kind = "instruct"
    tokenizer: SpecPath | None = None  # defaults to the model's own; a path, reference tokenizer name or hub id
    chat_template: ConfigFile | None = None  # a Jinja file replacing the tokenizer's template
    dtype: Dtype = "float32"
    max_length: Annotated[int, Strict(), Field(ge=16, le=MAX_MODEL_LENGTH)] | None = None  # see context_length
    hub_model: Resolved = None  # the hub id and commit `path` was resolved from (None: a local dir)
    hub_tokenizer: Resolved = None  # the same for `tokenizer`

    @property
    def tokenizer_path(self) -> str:
        return self.tokenizer or self.path

    @property
    def tokenizer_hub(self) -> HubRevision | None:
        """The hub revision the tokenizer was read at (the model's, when the spec names no tokenizer)."""
        return self.hub_tokenizer if self.tokenizer else self.hub_model

    def context_length(self) -> int:
        """Tokens of prompt plus generation: `max_length`, else the model's max_position_embeddings
        capped at CONTEXT_CAP (a fixed 2048 cut SmolLM2's 8k-context copy prompts short)."""
        if self.max_length is not None:
            return self.max_length
        positions = _config(Path(self.path)).get("max_position_embeddings") or FALLBACK_CONTEXT
        return min(int(positions), CONTEXT_CAP)

    def record(self) -> dict[str, Any]:
        """The spec as a run's provenance keeps it, with where its model and tokenizer were read: a local path, or a
        hub id, the revision asked and the commit it named."""
        record = {key: value for key, value in asdict(self).items() if key not in RESOLVED}
        record["sources"] = {
            "model": _source(self.path, self.hub_model),
            "tokenizer": _source(self.tokenizer_path, self.tokenizer_hub),
        }
        return record


def _source(value: str, hub: HubRevision | None) -> dict[str, str]:
    """Where a model or tokenizer was read: the hub (id, revision asked, commit), a reference name, a local path."""
    if hub is not None:
        return {"source": "hub", "id": hub.id, "revision": hub.revision, "commit": hub.commit}
    if value in REFERENCE_FILES:
        return {"source": "reference", "name": value}
    return {"source": "local", "path": str(Path(value).resolve())}


def check_spec(values: dict, where: str) -> ModelSpec:
    """A ModelSpec from a mapping (command line or experiment YAML), every bad field named at once."""
    return check_fields(ModelSpec, values, where)


def _default_name(path: str) -> str:
    """The run folder of a spec without name=: a hub id's repo name (SmolLM2-135M-Instruct), else the dir's name."""
    hub = hub_id(path)
    return hub[0].partition("/")[2] if hub else Path(path).name or path


def parse_spec(text: str) -> ModelSpec:
    """A spec from the command line: a directory, or key=value pairs (see the module docstring)."""
    if "=" not in text:
        return check_spec({"name": _default_name(text), "path": text}, f"model spec {text!r}")
    values: dict[str, str] = {}
    known = {f.name for f in fields(ModelSpec)} - set(RESOLVED)
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise InputError(f"model spec {text!r}: {part!r} is not one of {', '.join(sorted(known))} as key=value")
        values[key] = value.strip()
    if "path" not in values:
        raise InputError(f"model spec {text!r} has no path=: give the model directory")
    values.setdefault("name", _default_name(values["path"]))
    checked: dict[str, str | int] = dict(values)
    if "max_length" in values:
        length = values["max_length"]
        checked["max_length"] = int(length) if length.lstrip("-").isdigit() else length
    return check_spec(checked, f"model spec {text!r}")


Spec = TypeVar("Spec", bound=ModelSpec)


def resolve_spec(spec: Spec, base: Path | None = None) -> Spec:
    """The spec with local dirs for its model and tokenizer: a named model imported (on first use: a minute), a
    hub id resolved to its snapshot in the Hugging Face cache (downloaded when online) and its commit recorded.
    `base`: the folder a config's relative paths start at (a path of a hub id's name there is local)."""
    if spec.path in NAMED_MODELS:
        path, hub_model = str(named_model_dir(spec.path)), None
    else:
        path, hub_model = resolve(spec.path, base)
    tokenizer, hub_tokenizer = resolve(spec.tokenizer, base, TOKENIZER_FILES) if spec.tokenizer else (None, None)
    return replace(
        spec,
        path=path,
        tokenizer=tokenizer,
        hub_model=hub_model or spec.hub_model,  # resolving a resolved spec keeps what the first time found
        hub_tokenizer=hub_tokenizer or spec.hub_tokenizer,
    )


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
            f"model {spec.name}: {spec.path} does not exist or is not a directory (give a local Hugging Face model "
            "dir, or a hub id org/name[@revision])"
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
    """Model, tokenizer and chat-template fingerprints: a hub snapshot by its commit (the same commit in another
    cache is the same model), a local file or dir by content, a reference tokenizer by what builds it."""
    out = {}
    hubs = {"model": spec.hub_model, "tokenizer": spec.tokenizer_hub}
    for key, value in (("model", spec.path), ("tokenizer", spec.tokenizer_path), ("chat_template", spec.chat_template)):
        if not value:
            continue
        if (hub := hubs.get(key)) is not None:
            out[key] = hub.fingerprint()
        elif Path(value).exists():
            out[key] = path_digest(Path(value))
        elif value in REFERENCE_FILES:
            out[key] = _reference_fingerprint(value)
        else:
            out[key] = hashlib.sha256(value.encode()).hexdigest()
    return out
