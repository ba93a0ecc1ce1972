"""Train a new BPE or Unigram vocabulary in the style of a base tokenizer (Hugging Face `tokenizers`).

Byte-level bases (LLaMa-3) get byte-level vocabularies trained behind the base's own
pre-tokeniser, so new tokens and merges are already spelled in the byte-level alphabet and
no text is ever unknown. SentencePiece-style bases (Mistral) get "▁"-prefixed pieces with
digits split one by one; byte-fallback tokens are added when the tokenizer is assembled.
"""

from collections.abc import Iterable

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from lep.token_bytes import is_byte_level

SENTENCEPIECE_ALPHABET_LIMIT = 1000
MIN_FREQUENCY = 2


def training_pre_tokenizer(base: PreTrainedTokenizerFast) -> pre_tokenizers.PreTokenizer:
    """The base's pre-tokeniser for byte-level bases; "▁" words with single digits otherwise."""
    if is_byte_level(base):
        return Tokenizer.from_str(base.backend_tokenizer.to_str()).pre_tokenizer
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )


def train_bpe(base: PreTrainedTokenizerFast, texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """A BPE of `vocab_size` entries (the byte alphabet included for byte-level bases)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = training_pre_tokenizer(base)
    byte_level = is_byte_level(base)
    options = {} if byte_level else {"limit_alphabet": SENTENCEPIECE_ALPHABET_LIMIT}
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=MIN_FREQUENCY,
        show_progress=True,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if byte_level else [],
        **options,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def train_unigram(base: PreTrainedTokenizerFast, texts: Iterable[str], vocab_size: int, unk_token: str | None) -> Tokenizer:
    """A Unigram of `vocab_size` pieces; byte-level bases keep every byte as a piece."""
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = training_pre_tokenizer(base)
    byte_level = is_byte_level(base)
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        show_progress=True,
        special_tokens=[unk_token] if unk_token else [],
        unk_token=unk_token,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if byte_level else [],
        max_piece_length=16,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer
