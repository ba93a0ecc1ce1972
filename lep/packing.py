"""Pack a corpus into fixed-length causal-LM sequences that start at document boundaries.

Each text unit (a paragraph or line of the corpus) becomes BOS + tokens + EOS. Units are
appended to the current sequence while they fit; a unit that does not fit starts the next
sequence, so every sequence begins at a unit boundary (METHOD.md §4). The tail is padding,
masked from the loss and from attention. Units longer than a sequence are cut into pieces.
"""

from collections.abc import Iterable

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerFast

from lep.corpus import batched

IGNORE = -100


class PackedSequences(Dataset):
    """input_ids / attention_mask / labels tensors of shape (n_sequences, seq_len)."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, texts: Iterable[str], seq_len: int, batch: int = 1000):
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_id = 0 if pad is None else pad
        self.seq_len = seq_len
        self.sequences: list[np.ndarray] = []  # int32: a quarter of the memory of Python lists
        current: list[int] = []
        head = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        tail = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        for unit in self._encoded(tokenizer, texts, batch):
            document = head + unit + tail
            if current and len(current) + len(document) > seq_len:
                self.sequences.append(np.array(current, dtype=np.int32))
                current = []
            while len(document) > seq_len:
                self.sequences.append(np.array(document[:seq_len], dtype=np.int32))
                document = document[seq_len:]
            current += document
        if current:
            self.sequences.append(np.array(current, dtype=np.int32))

    @staticmethod
    def _encoded(tokenizer: PreTrainedTokenizerFast, texts: Iterable[str], batch: int) -> Iterable[list[int]]:
        for chunk in batched(texts, batch):
            yield from (e.ids for e in tokenizer.backend_tokenizer.encode_batch_fast(chunk, add_special_tokens=False))

    @property
    def real_tokens(self) -> int:
        return sum(len(s) for s in self.sequences)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids = torch.from_numpy(self.sequences[index].astype(np.int64))
        padding = self.seq_len - len(ids)
        return {
            "input_ids": torch.cat([ids, torch.full((padding,), self.pad_id)]),
            "attention_mask": torch.cat([torch.ones(len(ids), dtype=torch.int64), torch.zeros(padding, dtype=torch.int64)]),
            "labels": torch.cat([ids, torch.full((padding,), IGNORE)]),
        }
