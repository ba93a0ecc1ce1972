"""The real bytes behind each vocabulary entry, whatever the tokenizer's spelling of them.

Byte-level BPE (LLaMa-3) spells bytes with GPT-2's printable alphabet ("Ġ" = space);
SentencePiece-style BPE (Mistral) writes "▁" for space and "<0xNN>" for byte-fallback tokens.
Comparing vocabularies, initialising embeddings and mapping ids all need the common ground:
the bytes a token stands for.
"""

import json
import re

from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

_BYTE_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
_UNICODE_TO_BYTE = {char: byte for byte, char in bytes_to_unicode().items()}


def is_byte_level(tokenizer: PreTrainedTokenizerFast) -> bool:
    """True for GPT-2-style byte-level BPE (its decoder maps the printable alphabet back to bytes)."""
    backend = tokenizer.backend_tokenizer.decoder  # its own JSON: serialising the whole tokenizer took seconds
    decoder = json.loads(backend.__getstate__()) if backend is not None else {}
    kinds = [decoder.get("type")] + [d.get("type") for d in decoder.get("decoders", [])]
    return "ByteLevel" in kinds


def byte_level_bytes(token: str) -> bytes | None:
    """Bytes of a byte-level token, or None when it uses characters outside the alphabet."""
    try:
        return bytes(_UNICODE_TO_BYTE[char] for char in token)
    except KeyError:
        return None


def sentencepiece_bytes(token: str) -> bytes:
    """Bytes of a SentencePiece-style token: "▁" is a space, "<0xNN>" is the byte NN."""
    match = _BYTE_FALLBACK.match(token)
    if match:
        return bytes([int(match.group(1), 16)])
    return token.replace("▁", " ").encode("utf-8")


def spells_cyrillic(token: str, byte_level: bool) -> bool:
    """Whether a vocabulary entry holds a Cyrillic letter (U+0400-U+04FF, UTF-8 lead bytes 0xD0-0xD3): only text
    with Cyrillic in it can ever produce such a token or use a merge that makes one."""
    spelled = byte_level_bytes(token) if byte_level else sentencepiece_bytes(token)
    return spelled is not None and any(0xD0 <= byte <= 0xD3 for byte in spelled)


def vocabulary_bytes(tokenizer: PreTrainedTokenizerFast) -> dict[int, bytes]:
    """id -> bytes for every ordinary (non-added) vocabulary entry."""
    added = set(tokenizer.added_tokens_decoder)
    vocab = {t: i for t, i in tokenizer.backend_tokenizer.get_vocab(with_added_tokens=False).items() if i not in added}
    if is_byte_level(tokenizer):
        spelled = {i: byte_level_bytes(t) for t, i in vocab.items()}
        return {i: b for i, b in spelled.items() if b is not None}
    return {i: sentencepiece_bytes(t) for t, i in vocab.items()}


def byte_fallback_ids(tokenizer: PreTrainedTokenizerFast) -> set[int]:
    """Ids of "<0xNN>" tokens: text that reaches them was unknown to the vocabulary proper."""
    vocab = tokenizer.backend_tokenizer.get_vocab(with_added_tokens=False)
    return {i for t, i in vocab.items() if _BYTE_FALLBACK.match(t)}
