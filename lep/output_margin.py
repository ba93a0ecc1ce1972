"""The `first-margin` output recipe: a new token's output row is its first piece's, lowered by a margin.

A model that spells a word in pieces gives it log p(p1) + log p(p2..pk | p1), never more than log p(p1). With its
first piece's row, a new token would tie with that piece wherever the piece is likely (every new token that
starts with "при" ties with "при" itself); with the mean of its pieces' rows, some wrong new token can outscore the
right old piece. So the row is the first piece's plus m·u, where m = log p(p2..pk | BOS p1) under the original
model (negative) and u = μ/|μ|², μ the mean final hidden state over those same passes: wherever h·u ≈ 1 the new
token scores m below its first piece, as the chain rule says it should (after anchors-2026.md §3; not from a
paper). The init manifest records the share of hidden states with h·u > 0, where the new token stays below.
"""

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

BATCH = 256


def rest_log_probs(
    model_dir: Path, pieces: dict[int, list[int]], bos: int | None
) -> tuple[dict[int, float], torch.Tensor]:
    """Per new id with two or more pieces, log p(p2..pk | BOS p1) under the original model; and the final hidden
    states of every position those passes read (the sample μ is taken from)."""
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    head = [bos] if bos is not None else []
    ids = sorted(pieces)
    out: dict[int, float] = {}
    states = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows = [head + pieces[i] for i in chunk]
        width = max(map(len, rows))
        tokens = torch.tensor([r + [0] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        with torch.no_grad():
            result = model(input_ids=tokens, attention_mask=mask, output_hidden_states=True)
        log_probs = torch.log_softmax(result.logits.float(), dim=-1)
        first = len(head)  # predictions from the first piece on: of p2, p3, ...
        for row, (i, r) in enumerate(zip(chunk, rows)):
            targets = torch.tensor(r[first + 1 :])
            predicted = log_probs[row, first : len(r) - 1].gather(1, targets[:, None])
            out[i] = float(predicted.sum())
        states.append(result.hidden_states[-1][mask.bool()])
    return out, torch.cat(states) if states else torch.zeros(0)


def margin_rows(first_rows: torch.Tensor, margins: torch.Tensor, states: torch.Tensor) -> tuple[torch.Tensor, float]:
    """`first_rows` + margins · μ/|μ|² (μ the mean of `states`), and the share of `states` with h·μ > 0."""
    mean = states.float().mean(0)
    direction = mean / mean.pow(2).sum()
    rows = first_rows.float() + margins.float()[:, None] * direction[None]
    return rows.to(first_rows.dtype), float((states.float() @ mean > 0).float().mean())
