"""Edit a fast tokenizer at the level of its tokenizer.json: vocabulary, merges, added tokens.

Vocabulary adaptation rewrites the model part (vocab + merges) and keeps everything else of the
base tokenizer (normaliser, pre-tokeniser, decoder, post-processor, special tokens), so every
variant behaves like its base wherever the vocabulary does not differ.
"""

import copy
import json
from dataclasses import dataclass

from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

Merge = tuple[str, str]


def parse_merges(model: dict) -> list[Merge]:
    """A BPE model's merges as pairs, whichever of the two tokenizer.json spellings it uses."""
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in model.get("merges", [])]


@dataclass
class TokenizerParts:
    """The editable parts of a tokenizer.json; `spec` holds all the rest, untouched."""

    spec: dict
    vocab: dict[str, int]
    merges: list[Merge]
    added: list[dict]

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerFast) -> "TokenizerParts":
        spec = json.loads(tokenizer.backend_tokenizer.to_str())
        model = spec["model"]
        return cls(
            spec=spec, vocab=dict(model["vocab"]), merges=parse_merges(model), added=copy.deepcopy(spec["added_tokens"])
        )

    @property
    def added_contents(self) -> set[str]:
        return {token["content"] for token in self.added}

    def next_id(self) -> int:
        return max([*self.vocab.values(), *(t["id"] for t in self.added)], default=-1) + 1

    def build(self) -> Tokenizer:
        """A tokenizers.Tokenizer from the edited parts, with special-token ids in the post-processor updated."""
        spec = {**self.spec, "model": dict(self.spec["model"])}  # shallow: vocab, merges and added are replaced
        # tokenizers gives added tokens the ids after the model vocabulary's size, whatever the JSON
        # says; entering them in the model vocabulary pins them to their ids when new ids follow them.
        spec["model"]["vocab"] = {**self.vocab, **{t["content"]: t["id"] for t in self.added}}
        spec["model"]["merges"] = [list(m) for m in self.merges]
        spec["added_tokens"] = sorted(self.added, key=lambda t: t["id"])
        return rebind_special_ids(Tokenizer.from_str(json.dumps(spec, ensure_ascii=False)))


def rebind_special_ids(tokenizer: Tokenizer) -> Tokenizer:
    """TemplateProcessing stores special-token ids; set them from the tokenizer's own vocabulary."""
    spec = json.loads(tokenizer.to_str())
    _rebind(spec.get("post_processor"), tokenizer.get_vocab(with_added_tokens=True))
    return Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))


def _rebind(processor: dict | None, ids: dict[str, int]) -> None:
    if not processor:
        return
    for child in processor.get("processors", []):
        _rebind(child, ids)
    for entry in (processor.get("special_tokens") or {}).values():
        entry["ids"] = [ids[token] for token in entry["tokens"]]


def wrap_like(backend: Tokenizer, base: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """An HF tokenizer around `backend` with the base's special-token roles, chat template and limits."""
    roles = {role: value for role, value in base.special_tokens_map.items() if role != "additional_special_tokens"}
    extra = [t for t in base.special_tokens_map.get("additional_special_tokens", []) if t not in roles.values()]
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        **roles,
        additional_special_tokens=extra or None,
        chat_template=base.chat_template,
        model_max_length=base.model_max_length,
        clean_up_tokenization_spaces=False,
    )
