"""Continued-pretraining sequences: the authors' paragraph-preserving blocks and the earlier padded packing."""

import pytest
import torch

from lep.corpus import iter_documents
from lep.packing import IGNORE, PackedSequences, ParagraphBlocks, RepeatedHalves, newline_token_ids

RUSSIAN = [
    "Мороз и солнце; день чудесный! Ещё ты дремлешь, друг прелестный.",
    "Пора, красавица, проснись: открой сомкнуты негой взоры навстречу северной Авроры.",
    "Вечор, ты помнишь, вьюга злилась, на мутном небе мгла носилась.",
    "Луна, как бледное пятно, сквозь тучи мрачные желтела.",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paragraphs")
    for n in range(3):
        (folder / f"doc{n}.txt").write_text("\n".join(RUSSIAN[n:] + RUSSIAN[:n]) * 2 + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("base", ["llama-3", "mistral-7b"])
def test_blocks_hold_newlines_start_at_boundaries_and_have_no_padding(base, corpus, reference_tokenizer):
    tokenizer = reference_tokenizer(base)
    blocks = ParagraphBlocks(tokenizer, iter_documents([corpus]), seq_len=48)
    newlines = newline_token_ids(tokenizer)
    assert len(blocks) >= 3
    boundary = newlines | {tokenizer.eos_token_id}
    for index, start in enumerate(blocks.starts):
        item = blocks[index]
        ids = item["input_ids"]
        assert ids.shape == (48,)
        assert bool(item["attention_mask"].all())
        assert torch.equal(item["labels"], ids)
        assert tokenizer.pad_token_id is None or tokenizer.pad_token_id not in ids.tolist()
        # a block begins at a BOS or at the first token after a newline / EOS
        previous = int(blocks.stream[start - 1]) if start else None
        assert int(ids[0]) == tokenizer.bos_token_id or previous in boundary
        assert int(ids[0]) not in boundary
    inside = sum(int(t) in newlines for index in range(len(blocks)) for t in blocks[index]["input_ids"])
    assert inside > 0  # paragraph breaks reach the model
    text = tokenizer.decode(blocks[0]["input_ids"], skip_special_tokens=True)
    assert "\n" in text
    assert text.lstrip().startswith(RUSSIAN[0][:10])


def test_a_block_never_starts_mid_paragraph(reference_tokenizer, tmp_path):
    tokenizer = reference_tokenizer("mistral-7b")
    (tmp_path / "a.txt").write_text((RUSSIAN[0] + " ") * 6 + "\n" + RUSSIAN[1], encoding="utf-8")
    blocks = ParagraphBlocks(tokenizer, iter_documents([tmp_path]), seq_len=20)
    # the long first paragraph yields one block from its BOS; the rest of it is skipped up to the newline
    assert [
        tokenizer.decode(blocks[i]["input_ids"][:3], skip_special_tokens=True).strip()[:3] for i in range(len(blocks))
    ] == ["Мор", "Пор"]


def test_documents_packing_is_the_earlier_padded_one(corpus, reference_tokenizer):
    tokenizer = reference_tokenizer("mistral-7b")
    packed = PackedSequences(tokenizer, RUSSIAN, seq_len=64)
    item = packed[len(packed) - 1]
    assert (item["labels"] == IGNORE).any()
    assert not item["attention_mask"].all()
    assert int(item["input_ids"][0]) == tokenizer.bos_token_id


@pytest.mark.parametrize("packing", ["paragraphs", "documents"])
def test_a_share_of_blocks_repeats_its_first_half_and_the_rest_are_untouched(packing, corpus, reference_tokenizer):
    tokenizer = reference_tokenizer("mistral-7b")
    if packing == "paragraphs":
        blocks = ParagraphBlocks(tokenizer, iter_documents([corpus]), seq_len=48)
    else:
        blocks = PackedSequences(tokenizer, [" ".join(RUSSIAN)] + RUSSIAN, seq_len=48)
    repeated = RepeatedHalves(blocks, share=0.5)
    assert len(repeated) == len(blocks) >= 3 and repeated.real_tokens == blocks.real_tokens
    copies = 0
    for index in range(len(blocks)):
        item, plain = repeated[index], blocks[index]  # read after: the packing's own tensors must be unchanged
        if all(torch.equal(plain[k], item[k]) for k in plain):
            continue
        copies += 1
        half = int(plain["attention_mask"].sum()) // 2
        for key in ("input_ids", "labels"):
            assert torch.equal(item[key][:half], plain[key][:half])
            assert torch.equal(item[key][half : 2 * half], plain[key][:half])  # the copy
            assert torch.equal(item[key][2 * half :], plain[key][2 * half :])  # padding, or an odd last token
        assert torch.equal(item["attention_mask"], plain["attention_mask"])
    assert copies == len(blocks) // 2  # the share, spread over the blocks


@pytest.mark.parametrize("share", [0.25, 0.4, 0.6, 0.75, 1.0])
def test_the_share_of_copied_blocks_is_the_share_asked_for(share):
    n = 1000
    blocks = [
        {"input_ids": torch.arange(8), "attention_mask": torch.ones(8, dtype=torch.int64), "labels": torch.arange(8)}
        for _ in range(n)
    ]
    repeated = RepeatedHalves(blocks, share)  # type: ignore[arg-type]
    copied = sum(not torch.equal(repeated[i]["input_ids"], torch.arange(8)) for i in range(n))
    assert copied == round(share * n)
