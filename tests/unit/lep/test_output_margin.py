"""The first-margin output rows: at the mean hidden state a new token scores exactly its margin below its first
piece, and the share of states on the safe side is counted."""

import torch

from lep.output_margin import margin_rows


def test_at_the_mean_state_a_new_token_scores_its_margin_below_its_first_piece():
    torch.manual_seed(0)
    states = torch.randn(500, 16) + 3.0  # hidden states with a common direction, as a model's have
    first = torch.randn(4, 16)
    margins = torch.tensor([-0.5, -2.0, -7.0, 0.0])
    rows, share = margin_rows(first, margins, states)
    mean = states.mean(0)
    assert torch.allclose(rows @ mean - first @ mean, margins, atol=1e-4)
    assert share == float((states @ mean > 0).float().mean()) and share > 0.99
    lowered = (states @ rows.T - states @ first.T)[:, :3]
    assert (lowered < 0).float().mean() > 0.99  # below the first piece wherever h·μ > 0
