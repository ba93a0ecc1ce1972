"""Train a new BPE or Unigram vocabulary (Hugging Face `tokenizers`) in one of two styles.

Byte-level BPE (for byte-level bases such as LLaMa-3) is trained behind the base's own
pre-tokeniser, so new tokens and merges are already spelled in the byte-level alphabet and no
text is ever unknown. SentencePiece style (Mistral, and every Unigram: a Unigram over bytes
compresses Russian poorly) learns "▁"-prefixed pieces with digits split one by one;
byte-fallback tokens are added when the tokenizer is assembled. `train_sentencepiece` instead
trains with the SentencePiece library itself, as the paper's authors did (ruadapt train_spm.py).
"""

import io
import os
from collections.abc import Iterable
from typing import Any

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from lep.token_bytes import is_byte_level

SENTENCEPIECE_ALPHABET_LIMIT = 1000
MIN_FREQUENCY = 2
MAX_PIECE_CHARS = 16


def sentencepiece_decoder() -> decoders.Decoder:
    """ "▁" back to spaces, byte-fallback tokens back to bytes, the prepended space stripped."""
    return decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )


def training_pre_tokenizer(base: PreTrainedTokenizerFast, byte_level: bool) -> pre_tokenizers.PreTokenizer:
    """The base's pre-tokeniser for byte-level BPE; "▁" words with single digits otherwise."""
    if byte_level:
        return Tokenizer.from_str(base.backend_tokenizer.to_str()).pre_tokenizer
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )


def train_bpe(base: PreTrainedTokenizerFast, texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """A BPE of `vocab_size` entries in the base's style (the byte alphabet included when byte-level)."""
    byte_level = is_byte_level(base)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = training_pre_tokenizer(base, byte_level)
    options: dict[str, Any] = {} if byte_level else {"limit_alphabet": SENTENCEPIECE_ALPHABET_LIMIT}
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=MIN_FREQUENCY,
        show_progress=True,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if byte_level else [],
        **options,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def train_unigram(base: PreTrainedTokenizerFast, texts: Iterable[str], vocab_size: int, unk_token: str) -> Tokenizer:
    """A SentencePiece-style Unigram of `vocab_size` pieces (the unknown piece included)."""
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = training_pre_tokenizer(base, byte_level=False)
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        show_progress=True,
        special_tokens=[unk_token],
        unk_token=unk_token,
        max_piece_length=MAX_PIECE_CHARS,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


SENTENCEPIECE_SETTINGS: dict[str, Any] = {  # the authors' train_spm.py settings; the rest are SentencePiece's defaults
    "normalization_rule_name": "nmt_nfkc",
    "split_digits": True,
    "byte_fallback": True,
}


def train_sentencepiece(texts: Iterable[str], vocab_size: int, kind: str) -> list[tuple[str, float]]:
    """Ordinary pieces (in SentencePiece's order, with scores) of a `vocab_size`-piece model.

    SentencePiece trains on NFKC-normalised text (nmt_nfkc), splits digits and reserves the
    256 byte pieces; `vocab_size` counts them and the unknown piece, as in SentencePiece.
    """
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type=kind,
        vocab_size=vocab_size,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        max_sentencepiece_length=MAX_PIECE_CHARS,
        hard_vocab_limit=False,  # a small corpus gives a smaller vocabulary instead of an error
        num_threads=os.cpu_count() or 1,
        minloglevel=2,
        train_extremely_large_corpus=True,
        **SENTENCEPIECE_SETTINGS,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    normal = sentencepiece_model_pb2.ModelProto.SentencePiece.NORMAL
    return [(piece.piece, piece.score) for piece in proto.pieces if piece.type == normal]
