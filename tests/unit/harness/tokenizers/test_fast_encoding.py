"""The tiktoken fast path is used only where it is exact, and then gives HF's ids."""

from harness.tokenizers.fast_encoding import batch_encoder, tiktoken_equivalent
from harness.tokenizers.sample import SAMPLE_DIR as SAMPLE
from lep.vocab_adaptation import AdaptationRequest, adapt_tokenizer


def _hf(tokenizer, texts):
    return [e.ids for e in tokenizer.backend_tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


def test_llama3_takes_the_fast_path_with_identical_ids(reference_tokenizer, demo_flores):
    tokenizer = reference_tokenizer("llama-3")
    encode, engine = batch_encoder(tokenizer)
    assert engine == "tiktoken"
    lines = (
        demo_flores["ru"].read_text(encoding="utf-8").splitlines()
        + demo_flores["en"].read_text(encoding="utf-8").splitlines()
    )
    lines += ["spelled special <|eot_id|> inside text", "  leading spaces\n\nand 12345 digits", "🦜 emoji"]
    assert encode(lines) == _hf(tokenizer, lines)


def test_other_tokenizers_keep_the_hf_encoder(reference_tokenizer, tmp_path):
    assert tiktoken_equivalent(reference_tokenizer("mistral-7b")) is None
    extended = adapt_tokenizer(
        AdaptationRequest(base="llama-3", method="extend", corpus=[SAMPLE], out=tmp_path / "ext", new_vocab_size=900)
    )
    from lep.reference_tokenizers import load_tokenizer

    tokenizer = load_tokenizer(extended)
    assert tiktoken_equivalent(tokenizer) is None  # new merges go first: not rank-ordered
    encode, engine = batch_encoder(tokenizer)
    assert engine == "tokenizers"
    assert encode(["привет мир"]) == _hf(tokenizer, ["привет мир"])
