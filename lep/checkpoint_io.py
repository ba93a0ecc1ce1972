"""Read and rewrite the embedding matrices of a Hugging Face checkpoint without loading the model.

Initialisation and propagation only change the input embeddings and the LM head, so they work
on the safetensors shards directly: memory holds one shard at a time, an 8B model needs no GPU,
and every other tensor is copied bit for bit.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from lep.atomic_write import write_json
from lep.errors import InputError
from lep.safetensors_header import check_safetensors

INPUT_EMBEDDINGS = "model.embed_tokens.weight"
LM_HEAD = "lm_head.weight"
INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
GENERATION_CONFIG = "generation_config.json"


@dataclass
class Checkpoint:
    """A local HF model dir with safetensors weights."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path).expanduser().resolve()
        if not (self.path / "config.json").is_file():
            raise InputError(f"{self.path} is not a Hugging Face model dir (no config.json); pass a model folder")
        if not self.shards():
            raise InputError(f"{self.path} has no safetensors weights; save the model with safe_serialization=True")
        check_safetensors(self.shards())

    @property
    def config(self) -> dict:
        return json.loads((self.path / "config.json").read_text(encoding="utf-8"))

    @property
    def tied(self) -> bool:
        return bool(self.config.get("tie_word_embeddings", False))

    def shards(self) -> list[Path]:
        if (self.path / INDEX).is_file():
            index = json.loads((self.path / INDEX).read_text(encoding="utf-8"))
            return sorted({self.path / name for name in index["weight_map"].values()})
        return [self.path / SINGLE] if (self.path / SINGLE).is_file() else []

    @cached_property
    def tensor_names(self) -> dict[str, Path]:
        """Tensor name -> shard, read once from the shard headers."""
        names = {}
        for shard in self.shards():
            with safe_open(shard, framework="pt") as handle:
                names.update({name: shard for name in handle.keys()})
        return names

    def tensor(self, name: str) -> torch.Tensor:
        shard = self.tensor_names.get(name)
        if shard is None:
            raise InputError(f"{self.path} has no tensor {name}; only Llama/Mistral-style checkpoints are supported")
        with safe_open(shard, framework="pt") as handle:
            return handle.get_tensor(name)

    def shape(self, name: str) -> list[int]:
        """A tensor's shape from the shard header, without reading the tensor."""
        shard = self.tensor_names.get(name)
        if shard is None:
            raise InputError(f"{self.path} has no tensor {name}; only Llama/Mistral-style checkpoints are supported")
        with safe_open(shard, framework="pt") as handle:
            return list(handle.get_slice(name).get_shape())

    def input_embeddings(self) -> torch.Tensor:
        return self.tensor(INPUT_EMBEDDINGS)

    def lm_head(self) -> torch.Tensor:
        """The output embedding matrix (the input one when tied)."""
        return self.input_embeddings() if self.tied or LM_HEAD not in self.tensor_names else self.tensor(LM_HEAD)


SPECIAL_ID_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id")


def remap_special_ids(config: dict, id_map: dict[int, int]) -> dict:
    """bos/eos/pad ids (ints or lists) moved to their new ids; ids without a new one are dropped."""
    updated = dict(config)
    for key in SPECIAL_ID_KEYS:
        value = config.get(key)
        if isinstance(value, int):
            updated[key] = id_map.get(value)
        elif isinstance(value, list):
            updated[key] = [id_map[i] for i in value if i in id_map]
    return updated


def write_checkpoint(
    source: Checkpoint,
    out: Path,
    replace: dict[str, torch.Tensor],
    config_updates: dict,
    special_id_map: dict[int, int],
    transform: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
) -> None:
    """Copy `source` to `out` shard by shard, with some tensors replaced and the configs updated.

    `special_id_map` moves bos/eos/pad ids in config.json and generation_config.json to the new
    vocabulary. `transform(name, tensor)` may rewrite any other tensor on the way (Chat Vector).
    Tokenizer files are not copied: the caller saves the tokenizer that goes with the new weights.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = source.tensor_names
    missing = [name for name in replace if name not in names and not (name == LM_HEAD and source.tied)]
    if missing:
        raise InputError(f"{source.path} has no tensors {missing}")
    weight_map, total = {}, 0
    shards = list(source.shards())
    for shard in shards:
        tensors = {}
        with safe_open(shard, framework="pt") as handle:
            metadata = handle.metadata() or {"format": "pt"}
            for name in handle.keys():
                tensor = replace[name] if name in replace else handle.get_tensor(name)
                tensors[name] = transform(name, tensor) if transform and name not in replace else tensor
        if shard == shards[-1]:  # a tensor the source lacks (the lm_head of an untied tied model) goes last
            tensors |= {name: tensor for name, tensor in replace.items() if name not in names}
        save_file({k: v.contiguous() for k, v in tensors.items()}, out / shard.name, metadata=metadata)
        weight_map.update({name: shard.name for name in tensors})
        total += sum(t.numel() * t.element_size() for t in tensors.values())
    if (source.path / INDEX).is_file():
        write_json(out / INDEX, {"metadata": {"total_size": total}, "weight_map": weight_map})
    if (source.path / GENERATION_CONFIG).is_file():
        generation = json.loads((source.path / GENERATION_CONFIG).read_text(encoding="utf-8"))
        write_json(out / GENERATION_CONFIG, remap_special_ids(generation, special_id_map))
    write_json(out / "config.json", {**remap_special_ids(source.config, special_id_map), **config_updates})
