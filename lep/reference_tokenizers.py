"""Tokenizers as Hugging Face fast tokenizers, offline: the reference models' and any local one.

The reference tokenizers are built from the files that PyPI packages ship (LLaMa-3's tiktoken
ranks in `llama-models`, Mistral-7B's SentencePiece model in `mistral-common`), so nothing is
downloaded. `load_tokenizer` also takes an HF tokenizer dir, a tokenizer.json, a tiktoken file,
a SentencePiece .model, or a hub id `org/name[@revision]` (from the Hugging Face cache: lep/hub_models.py).
"""

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from tokenizers import Tokenizer
from tokenizers.processors import TemplateProcessing
from transformers import AutoTokenizer, PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import TikTokenConverter

from lep.errors import TokenizerError
from lep.hub_models import TOKENIZER_FILES, local_path
from lep.reference_sources import LLAMA3_FILE, MISTRAL_FILE, package_file

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_SPECIAL_TOKENS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    *(f"<|reserved_special_token_{i}|>" for i in range(4)),
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|reserved_special_token_4|>",
    "<|eot_id|>",
    *(f"<|reserved_special_token_{i}|>" for i in range(5, 251)),
]
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
OPENCHAT_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] in ['user', 'assistant'] %}"
    "{% set content = 'GPT4 Correct ' + message['role'].title() + ': ' + message['content'] + '<|end_of_turn|>' %}"
    "{% elif message['role'] == 'system' %}{% set content = message['content'] + '<|end_of_turn|>' %}"
    "{% else %}{{ raise_exception('Only user, assistant and system roles are supported!') }}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ 'GPT4 Correct Assistant:' }}{% endif %}"
)
# transformers' own conversion of a SentencePiece model, in the legacy mode the Mistral/OpenChat
# checkpoints use (a "▁" is prepended to every text segment, also after special tokens).
MISTRAL_CONFIG = {
    "tokenizer_class": "LlamaTokenizer",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "add_bos_token": True,
    "add_eos_token": False,
    "legacy": True,
    "clean_up_tokenization_spaces": False,
    "model_max_length": 32768,
}
OPENCHAT_CONFIG = {
    **MISTRAL_CONFIG,
    "eos_token": "<|end_of_turn|>",
    "pad_token": "<|end_of_turn|>",
    "additional_special_tokens": ["<|end_of_turn|>", "<|pad_0|>"],
    "model_max_length": 8192,
    "chat_template": OPENCHAT_CHAT_TEMPLATE,
}


def _with_bos(tokenizer: Tokenizer, bos: str) -> None:
    """Prepend BOS on encode, as the published LLaMa-3 tokenizer.json does."""
    bos_id = tokenizer.token_to_id(bos)
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos}:1 $B:1", special_tokens=[(bos, bos_id)]
    )


def tiktoken_tokenizer(path: Path, special_tokens: list[str], pattern: str = LLAMA3_PATTERN) -> Tokenizer:
    """Byte-level BPE from tiktoken ranks, special tokens appended after the ranks in order."""
    return TikTokenConverter(vocab_file=str(path), pattern=pattern, extra_special_tokens=special_tokens).converted()


@cache
def _llama3_json() -> str:
    """LLaMa-3's tokenizer.json, converted once a process: the conversion of its 128k ranks takes seconds."""
    tokenizer = tiktoken_tokenizer(package_file(*LLAMA3_FILE), LLAMA3_SPECIAL_TOKENS)
    _with_bos(tokenizer, "<|begin_of_text|>")
    return tokenizer.to_str()


def llama3(eos_token: str = "<|end_of_text|>") -> PreTrainedTokenizerFast:
    """LLaMa-3 (base conventions) from `llama_models/llama3/tokenizer.model`."""
    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_llama3_json()),
        bos_token="<|begin_of_text|>",
        eos_token=eos_token,
        chat_template=LLAMA3_CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
        model_max_length=8192,
    )


def sentencepiece_tokenizer(model_path: Path, config: dict) -> PreTrainedTokenizerFast:
    """A SentencePiece model converted by transformers, configured by a tokenizer_config dict."""
    with tempfile.TemporaryDirectory(prefix="lep-spm-") as folder:
        shutil.copyfile(model_path, Path(folder) / "tokenizer.model")
        (Path(folder) / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
        try:
            return AutoTokenizer.from_pretrained(folder)
        except Exception as error:  # the converter raises protobuf/ValueError variants
            raise TokenizerError(f"{model_path} is not a usable SentencePiece model ({error})") from None


def mistral7b() -> PreTrainedTokenizerFast:
    return sentencepiece_tokenizer(package_file(*MISTRAL_FILE), MISTRAL_CONFIG)


def openchat35() -> PreTrainedTokenizerFast:
    return sentencepiece_tokenizer(package_file(*MISTRAL_FILE), OPENCHAT_CONFIG)


REFERENCE_TOKENIZERS: dict[str, Callable[[], PreTrainedTokenizerFast]] = {
    "llama-3": llama3,
    "llama-3-instruct": lambda: llama3(eos_token="<|eot_id|>"),
    "mistral-7b": mistral7b,
    "openchat-3.5": openchat35,
}


def _is_tiktoken_file(path: Path) -> bool:
    """tiktoken rank files are lines of `<base64 token> <rank>`."""
    with open(path, "rb") as handle:
        first = handle.readline(200)
    return re.fullmatch(rb"[A-Za-z0-9+/=]+ \d+\r?\n?", first) is not None


def _from_file(path: Path) -> PreTrainedTokenizerFast:
    if path.suffix == ".json":
        try:
            return PreTrainedTokenizerFast(tokenizer_file=str(path), clean_up_tokenization_spaces=False)
        except Exception as error:
            raise TokenizerError(f"{path} is not a tokenizers JSON file ({error})") from None
    if path.suffix == ".tiktoken" or _is_tiktoken_file(path):
        return PreTrainedTokenizerFast(
            tokenizer_object=tiktoken_tokenizer(path, []), clean_up_tokenization_spaces=False
        )
    if path.suffix == ".model":
        return sentencepiece_tokenizer(path, MISTRAL_CONFIG)
    raise TokenizerError(
        f"{path} is not a tokenizer file; pass a tokenizer dir, tokenizer.json, a tiktoken file or a "
        "SentencePiece .model"
    )


def load_tokenizer(spec: str | Path) -> PreTrainedTokenizerFast:
    """A fast tokenizer for a reference name, a local dir or file, or a hub id (its files in the hub's cache)."""
    name = str(spec)
    if name in REFERENCE_TOKENIZERS:
        return REFERENCE_TOKENIZERS[name]()
    path = Path(local_path(name, files=TOKENIZER_FILES)).expanduser()  # a hub id: its snapshot in the HF cache
    if path.is_file():
        return _from_file(path)
    if path.is_dir():
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        except Exception as error:
            raise TokenizerError(f"{path} does not hold a loadable tokenizer ({error})") from None
        if not isinstance(tokenizer, PreTrainedTokenizerFast):
            raise TokenizerError(f"{path} loads as a slow tokenizer; lep-bench needs one with a tokenizer.json")
        return tokenizer
    known = ", ".join(REFERENCE_TOKENIZERS)
    raise TokenizerError(f"unknown tokenizer {name!r}: use one of {known}, an existing path, or a hub id")


def tokenizer_label(spec: str | Path) -> str:
    """A short display name: the reference name, or the folder/file name of a path."""
    name = str(spec)
    return name if name in REFERENCE_TOKENIZERS else Path(name).name or name
