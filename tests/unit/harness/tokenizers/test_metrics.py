"""Metric definitions on examples computed by hand."""

import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import PreTrainedTokenizerFast

from harness.tokenizers.metrics import CorpusCounts, TokenizerReport, count_corpus, normalised_sequence_length


@pytest.fixture()
def word_tokenizer() -> PreTrainedTokenizerFast:
    """One token per known word, [UNK] for the rest: every count below is easy to do by hand."""
    model = WordLevel({"кот": 0, "ест": 1, "рыбу": 2, "[UNK]": 3}, unk_token="[UNK]")
    backend = Tokenizer(model)
    backend.pre_tokenizer = Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")


def test_counts_on_a_hand_made_corpus(word_tokenizer):
    counts = count_corpus(word_tokenizer, ["кот ест рыбу", "кот спит"])
    # tokens: кот ест рыбу | кот [UNK]  -> 5 tokens, 1 unknown
    assert counts.tokens == 5
    assert counts.unknown_tokens == 1
    # characters 12 + 8 = 20; UTF-8 bytes: Cyrillic letters are 2 bytes, spaces 1 -> 22 + 15 = 37
    assert (counts.chars, counts.bytes) == (20, 37)
    assert counts.chars_per_token == pytest.approx(4.0)
    assert counts.bytes_per_token == pytest.approx(7.4)
    assert counts.unknown_rate == pytest.approx(0.2)
    # words: кот x2, ест, рыбу, спит; each is one token (known or [UNK])
    assert counts.words == 5
    assert counts.fertility == pytest.approx(1.0)
    assert counts.share_words_in_two == 1.0


def test_fertility_and_share_with_multi_token_words(reference_tokenizer):
    tokenizer = reference_tokenizer("mistral-7b")
    words = ["кот", "достопримечательность"]
    pieces = [len(tokenizer.encode(" " + w, add_special_tokens=False)) for w in words]
    counts = count_corpus(tokenizer, [" ".join(words)])
    assert counts.words == 2
    assert counts.fertility == pytest.approx(sum(pieces) / 2)
    assert counts.share_words_in_two == pytest.approx(sum(p <= 2 for p in pieces) / 2)
    assert pieces[1] > 2  # the long word really is split, so the share test means something


def test_byte_fallback_tokens_count_as_unknown(reference_tokenizer):
    tokenizer = reference_tokenizer("mistral-7b")
    tokens = tokenizer.tokenize("🦜")
    fallback = [t for t in tokens if t.startswith("<0x")]
    assert len(fallback) == 4  # the parrot is four UTF-8 bytes, none of them in the vocabulary
    counts = count_corpus(tokenizer, ["🦜"])
    assert counts.unknown_tokens == 4
    assert counts.tokens == len(tokens)
    assert count_corpus(reference_tokenizer("llama-3"), ["🦜"]).unknown_tokens == 0  # byte-level: nothing unknown


def test_nsl_is_the_ratio_of_token_totals():
    ours = TokenizerReport("ours", 10, {"ru": CorpusCounts(tokens=80), "en": CorpusCounts(tokens=50)})
    reference = TokenizerReport("ref", 10, {"ru": CorpusCounts(tokens=100), "en": CorpusCounts(tokens=40)})
    assert normalised_sequence_length(ours, reference) == {"ru": 0.8, "en": 1.25}
