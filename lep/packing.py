"""Pack a corpus into fixed-length causal-LM sequences, in one of two ways.

`ParagraphBlocks` (the default, as the paper's authors packed; ruadapt pretraining/utils.py):
every document, paragraph breaks kept, becomes BOS + tokens + EOS; all of them form one stream,
cut into full blocks of `seq_len` that each begin at a BOS or at the first token after a newline
or EOS. Blocks run across paragraphs and documents; the stream between the end of one block and
the next boundary is skipped; no padding anywhere.

`PackedSequences` (the earlier behaviour): each text unit (a line) becomes BOS + tokens + EOS,
units are appended while they fit, a unit that does not fit starts the next sequence, and the
tail is padding, masked from the loss and from attention.
"""

from collections.abc import Iterable

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerFast

from lep.corpus import batched

IGNORE = -100


def newline_token_ids(tokenizer: PreTrainedTokenizerFast) -> set[int]:
    """Ids of every token whose text begins or ends with a newline (a byte-fallback <0x0A> too)."""
    backend = tokenizer.backend_tokenizer
    size = backend.get_vocab_size(with_added_tokens=False)
    texts = backend.decode_batch([[i] for i in range(size)], skip_special_tokens=False)
    return {i for i, text in enumerate(texts) if text.startswith("\n") or text.endswith("\n")}


def _encoded(tokenizer: PreTrainedTokenizerFast, texts: Iterable[str], batch: int) -> Iterable[list[int]]:
    for chunk in batched(texts, batch):
        yield from (e.ids for e in tokenizer.backend_tokenizer.encode_batch_fast(chunk, add_special_tokens=False))


class ParagraphBlocks(Dataset):
    """Full `seq_len` blocks of the document stream, each starting at a document or paragraph start."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, documents: Iterable[str], seq_len: int, batch: int = 100):
        head = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        tail = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        pieces = [np.asarray(head + ids + tail, dtype=np.int32) for ids in _encoded(tokenizer, documents, batch)]
        stream = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        separators = np.asarray(sorted(newline_token_ids(tokenizer) | set(tail)), dtype=np.int32)
        starts = np.flatnonzero(np.isin(stream, np.asarray([*head, *separators], dtype=np.int32)))
        content = np.flatnonzero(~np.isin(stream, separators))  # where a block may begin
        self.seq_len = seq_len
        self.starts: list[int] = []
        cursor = 0
        while True:
            boundary = np.searchsorted(starts, cursor)
            if boundary == len(starts):
                break
            first = np.searchsorted(content, starts[boundary])
            if first == len(content) or content[first] + seq_len > len(stream):
                break
            self.starts.append(int(content[first]))
            cursor = int(content[first]) + seq_len
        self.stream = stream
        self.stream_tokens = len(stream)

    @property
    def real_tokens(self) -> int:
        return len(self.starts) * self.seq_len

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        start = self.starts[index]
        ids = torch.from_numpy(self.stream[start : start + self.seq_len].astype(np.int64))
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}


class RepeatedHalves(Dataset):
    """The blocks of a packing, a `share` of them (spread evenly) with their second half a copy of their first.
    The loss on the copy rewards reading a span from the context and writing it again (what induction heads do),
    which plain text seldom asks of new tokens: LM training on plain text left an adapted SmolLM2 reading Russian
    better than the original and copying none of it (docs/log.md, 2026-12-07)."""

    def __init__(self, blocks: "ParagraphBlocks | PackedSequences", share: float):
        self.blocks, self.share = blocks, share

    @property
    def real_tokens(self) -> int:
        return self.blocks.real_tokens

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = self.blocks[index]
        if int((index + 1) * self.share) == int(index * self.share):
            return item
        half = int(item["attention_mask"].sum()) // 2  # the real tokens' half: padding stays where it is
        copied = {key: item[key].clone() for key in ("input_ids", "labels")}  # never write into the packing's own
        for tensor in copied.values():
            tensor[half : 2 * half] = tensor[:half]
        return item | copied


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
        for unit in _encoded(tokenizer, texts, batch):
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
            "attention_mask": torch.cat(
                [torch.ones(len(ids), dtype=torch.int64), torch.zeros(padding, dtype=torch.int64)]
            ),
            "labels": torch.cat([ids, torch.full((padding,), IGNORE)]),
        }
