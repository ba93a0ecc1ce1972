"""New-token distillation (after Dobler et al. 2025, "Token Distillation"): train the new input rows so that the
adapted model, reading text written with its new tokens, has the hidden states the original model has reading
the same text in its own tokens.

The two tokenisations of a text end a token at the same character at many places (every word end the new
vocabulary does not cut differently); there both models have read exactly the same text, so every layer's
state should agree. The loss is the mean over layers of the squared distance at those places between the states
each divided by its root-mean-square (what the next block's RMSNorm reads), so that no layer's or position's
scale dominates. It needs no labels and far
fewer tokens than language modelling, which relearns through the frozen head what the old pieces already know.
"""

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerFast, Trainer

from lep.corpus import batched

TEACHER_FACTOR = 4  # the teacher's sequences may be this many times longer (its tokens are shorter on Russian)


def _encode(tokenizer: PreTrainedTokenizerFast, texts: list[str]) -> list[Any]:
    return tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)


def _last_token_ending_at(offsets: list[tuple[int, int]], shift: int) -> dict[int, int]:
    """Character end -> the last position whose token ends there (a character split over two byte tokens ends
    twice; the second has read it whole), positions shifted past a BOS."""
    return {end: i + shift for i, (_, end) in enumerate(offsets) if end > 0}


def _joined(lines: list[str], tokens: list[int], room: int) -> list[str]:
    """Consecutive lines joined by newlines while their tokens fit `room`: a corpus of short lines would
    otherwise fill each sequence with padding (the median line of the demo corpus is 28 tokens of 128)."""
    texts: list[str] = []
    used = room
    for line, count in zip(lines, tokens):
        if used + 1 + count > room:
            texts.append(line)
            used = count
        else:
            texts[-1] += "\n" + line
            used += 1 + count
    return texts


class AlignedTexts(Dataset):
    """Consecutive text units joined up to `seq_len` student tokens, under both tokenizers (BOS first where the
    model has one), cut to `seq_len`, padded, with the position pairs where both have read the same characters."""

    def __init__(
        self,
        student: PreTrainedTokenizerFast,
        teacher: PreTrainedTokenizerFast,
        texts: Iterable[str],
        seq_len: int,
        batch: int = 100,
    ):
        self.seq_len, self.teacher_len = seq_len, seq_len * TEACHER_FACTOR
        self.heads = [[student.bos_token_id] if student.bos_token_id is not None else []]
        self.heads.append([teacher.bos_token_id] if teacher.bos_token_id is not None else [])
        self.pads = [student.pad_token_id or 0, teacher.pad_token_id or 0]
        self.items: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        room = seq_len - len(self.heads[0])
        for lines in batched(texts, batch):
            chunk = _joined(lines, [len(e.ids) for e in _encode(student, lines)], room)
            encoded = _encode(student, chunk)
            long = [i for i, e in enumerate(encoded) if len(e.ids) > room]
            cut = {i: chunk[i][: encoded[i].offsets[room - 1][1]] for i in long}  # up to the last token that fits
            for i, e in zip(long, _encode(student, list(cut.values())) if cut else []):
                chunk[i], encoded[i] = cut[i], e
            for s, t in zip(encoded, _encode(teacher, chunk)):
                self._add(s, t)

    def _add(self, s: Any, t: Any) -> None:
        s_ids, t_ids = self.heads[0] + s.ids, self.heads[1] + t.ids
        if len(t_ids) > self.teacher_len or len(s.ids) == 0:
            return  # a text the teacher needs more than TEACHER_FACTOR x the tokens for: left out
        teacher_ends = _last_token_ending_at(t.offsets, len(self.heads[1]))
        student_ends = _last_token_ending_at(s.offsets, len(self.heads[0]))
        pairs = sorted((i, teacher_ends[end]) for end, i in student_ends.items() if end in teacher_ends)
        s_pos = np.asarray([i for i, _ in pairs], dtype=np.int32)
        t_pos = np.asarray([j for _, j in pairs], dtype=np.int32)
        self.items.append((np.asarray(s_ids, dtype=np.int32), np.asarray(t_ids, dtype=np.int32), s_pos, t_pos))

    @property
    def real_tokens(self) -> int:
        return sum(len(item[0]) for item in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        s_ids, t_ids, s_pos, t_pos = self.items[index]

        def padded(values: np.ndarray, length: int, fill: int) -> torch.Tensor:
            out = torch.full((length,), fill, dtype=torch.int64)
            out[: len(values)] = torch.from_numpy(values.astype(np.int64))
            return out

        return {
            "input_ids": padded(s_ids, self.seq_len, self.pads[0]),
            "attention_mask": padded(np.ones(len(s_ids)), self.seq_len, 0),
            "teacher_ids": padded(t_ids, self.teacher_len, self.pads[1]),
            "teacher_mask": padded(np.ones(len(t_ids)), self.teacher_len, 0),
            "student_positions": padded(s_pos, self.seq_len, 0),
            "teacher_positions": padded(t_pos, self.seq_len, 0),
            "pair_mask": padded(np.ones(len(s_pos)), self.seq_len, 0),
        }


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """A batch of `AlignedTexts` items cut to its longest text on each side: a short line padded to the full
    lengths would cost the teacher's and the student's full passes (padding is right-hand, so the cut is exact)."""
    batch = {key: torch.stack([item[key] for item in items]) for key in items[0]}
    lengths = {
        "input_ids": batch["attention_mask"],
        "attention_mask": batch["attention_mask"],
        "teacher_ids": batch["teacher_mask"],
        "teacher_mask": batch["teacher_mask"],
    }
    lengths |= dict.fromkeys(("student_positions", "teacher_positions", "pair_mask"), batch["pair_mask"])
    return {key: batch[key][:, : max(1, int(lengths[key].sum(1).max()))] for key in batch}


def _rms_normalised(states: torch.Tensor) -> torch.Tensor:
    return states * torch.rsqrt(states.pow(2).mean(-1, keepdim=True) + 1e-6)


def hidden_state_loss(
    student: tuple[torch.Tensor, ...],
    teacher: tuple[torch.Tensor, ...],
    student_positions: torch.Tensor,
    teacher_positions: torch.Tensor,
    pair_mask: torch.Tensor,
) -> torch.Tensor:
    """Mean over layers (not the embedding output, which differs by design) and paired positions of the mean
    squared difference of the two models' states, each state divided by its own root-mean-square first.

    That is the state each next block reads (its RMSNorm input, up to the norm's weights), and it bounds every
    term: scaled by a layer's mean norm instead, the few positions with massive activations (norms of 800
    against a few tens on SmolLM2) gave 1 batch in 20 a loss 15x the rest, and the training chased them.
    """
    mask = pair_mask.to(student[-1].dtype)
    count = mask.sum().clamp(min=1)
    total = student[-1].new_zeros(())
    for s, t in zip(student[1:], teacher[1:]):
        width = s.shape[-1]
        s_at = _rms_normalised(s.gather(1, student_positions[..., None].expand(-1, -1, width)))
        t_at = _rms_normalised(t.gather(1, teacher_positions[..., None].expand(-1, -1, width)).to(s.dtype))
        total = total + ((s_at - t_at).pow(2).mean(-1) * mask).sum() / count
    return total / (len(student) - 1)


class DistillationTrainer(Trainer):
    """The Trainer with `hidden_state_loss` against a frozen teacher (the original model) as its loss."""

    def __init__(self, teacher: torch.nn.Module, **kwargs: Any):
        super().__init__(**kwargs)
        self.teacher = teacher.eval().requires_grad_(False).to(self.args.device)

    def compute_loss(
        self, model: torch.nn.Module, inputs: dict[str, torch.Tensor], return_outputs: bool = False, **_: Any
    ) -> Any:
        with torch.no_grad():
            teacher = self.teacher.base_model(
                input_ids=inputs["teacher_ids"], attention_mask=inputs["teacher_mask"], output_hidden_states=True
            ).hidden_states
        # the decoder without its head: the logits over the whole vocabulary would cost more than the rest of a
        # small model's step; a model wrapped for data-parallel runs goes through its wrapper, head and all
        body = model.base_model if isinstance(model, PreTrainedModel) else model
        outputs = body(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], output_hidden_states=True
        )
        loss = hidden_state_loss(
            outputs.hidden_states,
            teacher,
            inputs["student_positions"],
            inputs["teacher_positions"],
            inputs["pair_mask"],
        )
        return (loss, outputs) if return_outputs else loss
