"""The averaging operator T (V_new x V_old) of docs/method.md §3, built once and reused by Conversion.

Row i of T says how new token i is made from old tokens: a one-hot copy when the old vocabulary
has the same bytes (or the same special token), otherwise weights on the K old sub-tokens its
bytes split into (1/K each for the paper's mean; the other recipes are lep/init_recipes.py), and
the mean of all rows when nothing applies.
"""

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

from lep.token_bytes import byte_fallback_ids, is_byte_level, vocabulary_bytes

_BYTE_ENCODER = bytes_to_unicode()
MEAN_ROW: list[int] = []  # marker: no sub-tokens, use the mean of all old rows


def _old_ids_by_bytes(old: PreTrainedTokenizerFast) -> dict[bytes, int]:
    """bytes -> old id, preferring ordinary tokens over byte-fallback ones with the same bytes."""
    fallback = byte_fallback_ids(old)
    by_bytes: dict[bytes, int] = {}
    for i, data in sorted(vocabulary_bytes(old).items()):
        if data not in by_bytes or (by_bytes[data] in fallback and i not in fallback):
            by_bytes[data] = i
    return by_bytes


class OldPieces:
    """Splits bytes into old ids through the old model alone (no pre-tokeniser, no special tokens)."""

    def __init__(self, old: PreTrainedTokenizerFast):
        self.model = old.backend_tokenizer.model
        self.byte_level = is_byte_level(old)
        self.fallback = (
            {b: old.convert_tokens_to_ids(f"<0x{b:02X}>") for b in range(256)} if not self.byte_level else {}
        )

    def __call__(self, data: bytes) -> list[int]:
        if self.byte_level:
            return [token.id for token in self.model.tokenize("".join(_BYTE_ENCODER[b] for b in data))]
        ids: list[int] = []
        run = ""
        for char in [*data.decode("utf-8", errors="surrogateescape"), None]:
            if char is not None and not 0xDC80 <= ord(char) <= 0xDCFF:
                run += char
                continue
            if run:
                ids += [token.id for token in self.model.tokenize(run.replace(" ", "▁"))]
                run = ""
            if char is not None:  # a byte that is not valid UTF-8 on its own: its byte-fallback token
                ids.append(self.fallback[ord(char) - 0xDC00])
        return ids


def operator_rows(
    new: PreTrainedTokenizerFast, old: PreTrainedTokenizerFast, id_map: dict[int, int] | None = None
) -> list[list[int]]:
    """For each new id, the old ids to average (one id = a copy; empty = the mean row)."""
    rows: list[list[int]] = [MEAN_ROW] * len(new)
    copied = {new_id: old_id for old_id, new_id in (id_map or {}).items() if old_id < len(old)}
    old_by_bytes = _old_ids_by_bytes(old)
    old_special = {token.content: i for i, token in old.added_tokens_decoder.items()}
    pieces_of = OldPieces(old)
    old_vocab = old.backend_tokenizer.get_vocab(with_added_tokens=False)
    new_tokens = new.convert_ids_to_tokens(list(range(len(new))))
    same_style = is_byte_level(new) == pieces_of.byte_level
    for i, data in vocabulary_bytes(new).items():
        if i in copied:
            rows[i] = [copied[i]]
        elif same_style and new_tokens[i] in old_vocab:  # same spelling, same token
            rows[i] = [old_vocab[new_tokens[i]]]
        elif data in old_by_bytes:
            rows[i] = [old_by_bytes[data]]
        else:
            rows[i] = pieces_of(data) or MEAN_ROW
    for i, token in new.added_tokens_decoder.items():
        rows[i] = [old_special[token.content]] if token.content in old_special else MEAN_ROW
    return rows


def _csr(crow: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the operations used here are stable
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, cols, values, size=shape)


def build_operator(
    rows: list[list[int]], old_size: int, weigh: Callable[[list[int]], list[float]] | None = None
) -> torch.Tensor:
    """Sparse CSR T (float32): `weigh(ids)` on a row's old ids (default 1/K on each of K; lep/init_recipes.py), 1 on a
    copy, 1/V_old everywhere for a mean row. Zero weights stay stored: a row of one entry is a copy of that old
    token (copied_rows), which a `first` row is not."""
    crow, cols, values = [0], list[int](), list[float]()
    for pieces in rows:
        if not pieces:
            cols += range(old_size)
            values += [1.0 / old_size] * old_size
        else:
            cols += pieces
            values += weigh(pieces) if weigh and len(pieces) > 1 else [1.0 / len(pieces)] * len(pieces)
        crow.append(len(cols))
    return _csr(
        torch.tensor(crow, dtype=torch.int64),
        torch.tensor(cols, dtype=torch.int64),
        torch.tensor(values, dtype=torch.float32),
        (len(rows), old_size),
    )


def apply_operator(operator: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """T · M in float32 (the old matrix may hold padding rows past the old vocabulary), cast back."""
    return (operator @ matrix[: operator.shape[1]].float()).to(matrix.dtype)


def copied_rows(operator: torch.Tensor) -> torch.Tensor:
    """Boolean mask of new rows that are plain copies of one old row."""
    crow = operator.crow_indices()
    return (crow[1:] - crow[:-1]) == 1


def copied_pairs(operator: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(new ids, old ids) of the rows that are plain copies of one old row."""
    new_ids = torch.nonzero(copied_rows(operator)).flatten()
    return new_ids, operator.col_indices()[operator.crow_indices()[new_ids]]


def save_operator(operator: torch.Tensor, path: Path) -> None:
    save_file(
        {"crow_indices": operator.crow_indices(), "col_indices": operator.col_indices(), "values": operator.values()},
        str(path),
        metadata={"shape": json.dumps(list(operator.shape))},
    )


def load_operator(path: Path) -> torch.Tensor:
    with safe_open(str(path), framework="pt") as handle:
        shape = json.loads(handle.metadata()["shape"])
        parts = {name: handle.get_tensor(name) for name in handle.keys()}
    return _csr(parts["crow_indices"], parts["col_indices"], parts["values"], tuple(shape))
