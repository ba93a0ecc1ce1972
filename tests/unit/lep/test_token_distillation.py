"""Token distillation's pieces: the position pairs where two tokenisations have read the same text, and the
layer-scaled hidden-state loss."""

import pytest
import torch

from harness.tokenizers.sample import sample_file
from lep.reference_tokenizers import load_tokenizer
from lep.token_distillation import AlignedTexts, collate, hidden_state_loss
from lep.vocab_adaptation import AdaptationRequest, adapt_tokenizer


def test_paired_positions_have_read_the_same_characters(tmp_path, reference_tokenizer):
    teacher = reference_tokenizer("openchat-3.5")
    student_dir = adapt_tokenizer(
        AdaptationRequest(
            base="openchat-3.5", method="extend", corpus=[sample_file("ru")], out=tmp_path / "t", new_vocab_size=600
        )
    )
    student = load_tokenizer(student_dir)
    texts = sample_file("ru").read_text(encoding="utf-8").splitlines()[:8]
    data = AlignedTexts(student, teacher, texts, seq_len=48)
    assert len(data) == len(texts)
    tokens = [0, 0]
    for item in (data[i] for i in range(len(data))):
        s_ids = item["input_ids"][item["attention_mask"].bool()].tolist()
        t_ids = item["teacher_ids"][item["teacher_mask"].bool()].tolist()
        assert s_ids[0] == student.bos_token_id and t_ids[0] == teacher.bos_token_id
        assert len(s_ids) <= 48
        tokens = [tokens[0] + len(s_ids), tokens[1] + len(t_ids)]
        pairs = int(item["pair_mask"].sum())
        assert pairs >= 3
        for i, j in zip(item["student_positions"][:pairs].tolist(), item["teacher_positions"][:pairs].tolist()):
            assert student.decode(s_ids[1 : i + 1]) == teacher.decode(t_ids[1 : j + 1])
    assert tokens[0] < tokens[1]  # the extension reads Russian in fewer tokens
    items = [data[i] for i in range(len(data))]
    batch = collate(items)
    assert batch["input_ids"].shape[1] == max(int(item["attention_mask"].sum()) for item in items) < 48
    assert batch["teacher_ids"].shape[1] == max(int(item["teacher_mask"].sum()) for item in items) < 4 * 48
    for key, values in batch.items():  # only padding was cut
        full = torch.stack([item[key] for item in items])
        assert torch.equal(full[:, : values.shape[1]], values)
        mask = {"input_ids": "attention_mask", "teacher_ids": "teacher_mask"}.get(key)
        if mask:
            assert not torch.stack([item[mask] for item in items])[:, values.shape[1] :].any()


def test_the_loss_is_zero_on_equal_states_and_no_layer_or_position_outweighs_the_rest():
    torch.manual_seed(0)
    states = tuple(torch.randn(2, 6, 4) * scale for scale in (1.0, 1.0, 100.0))
    states[1][0, 1] *= 800  # a massive activation
    positions = torch.tensor([[1, 2, 0], [3, 4, 5]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert hidden_state_loss(states, states, positions, positions, mask) == 0
    noisy = tuple(s + 0.1 * s.std(-1, keepdim=True) * torch.randn_like(s) for s in states)
    loss = hidden_state_loss(noisy, states, positions, positions, mask)
    assert 0.002 < float(loss) < 0.05  # ~0.01 relative error on every state, the x100 layer and x800 state no heavier
    moved = positions.clone()
    moved[0, 2] = 5  # a masked pair changes nothing
    assert hidden_state_loss(noisy, states, moved, positions, mask) == loss
    opposite = tuple(-s for s in states)
    assert float(hidden_state_loss(opposite, states, positions, positions, mask)) == pytest.approx(4.0, rel=1e-3)


def test_short_lines_are_joined_up_to_the_sequence_length(reference_tokenizer):
    tokenizer = reference_tokenizer("openchat-3.5")
    lines = [f"Строка номер {i}." for i in range(12)]
    data = AlignedTexts(tokenizer, tokenizer, lines, seq_len=48)
    assert 1 < len(data) < len(lines)
    texts = [tokenizer.decode(data[i]["input_ids"][data[i]["attention_mask"].bool()][1:]) for i in range(len(data))]
    assert "\n".join(texts) == "\n".join(lines)  # every line, in order, none cut
    assert all(int(data[i]["attention_mask"].sum()) <= 48 for i in range(len(data)))
