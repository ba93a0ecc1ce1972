"""The settings each LEP stage accepts, importable without torch: the CLI's choices and defaults and the
pipeline's schema come from here, the stages themselves (which import torch and transformers) use them."""

from dataclasses import dataclass, field
from typing import Any

# adapt tokenizer (lep/vocab_adaptation.py)
METHODS = ("bpe", "unigram", "extend", "optimize")
TRAINERS = ("hf", "sentencepiece")
KEEP_BY = ("frequency", "lowest-ids")

# adapt propagate (lep/propagation.py)
MODES = ("swap", "overlap", "conversion", "bypass", "chat-vector")


# adapt train (lep/embedding_training.py)
@dataclass
class TrainSettings:
    """Paper defaults (METHOD.md §4) at 256 x 1024 tokens a step; scale them with the flags."""

    seq_len: int = 1024
    global_batch: int = 256
    per_device_batch: int = 8
    learning_rate: float = 2e-4
    weight_decay: float = 0.1
    warmup_steps: int = 100
    epochs: float = 1.0
    max_steps: int = -1
    new_rows_only: bool = False
    full_model: bool = False  # train every weight (the demo's brief pretraining of its small base model)
    gradient_checkpointing: bool = False
    save_steps: int = 500
    logging_steps: int = 10
    max_chars: int | None = None
    seed: int = 0
    packing: str = "paragraphs"  # or "documents": BOS + line + EOS per sequence, padded (the earlier packing)
    precision: str = "auto"


# adapt calibrate (lep/calibration.py)
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class CalibrationSettings:
    rank: int
    alpha: float
    learning_rate: float
    weight_decay: float
    edge_layers_only: bool
    train_embeddings: bool
    max_length: int = 4096
    epochs: float = 1.0
    per_device_batch: int = 4
    global_batch: int = 64
    scheduler: str = "cosine"
    seed: int = 0
    max_steps: int = -1
    target_modules: list[str] = field(default_factory=lambda: list(PROJECTIONS))


PRESETS = {
    "self": CalibrationSettings(
        rank=8,
        alpha=1,
        learning_rate=2.5e-5,
        weight_decay=0.1,
        edge_layers_only=True,
        train_embeddings=True,
        global_batch=64,
    ),
    "sft": CalibrationSettings(
        rank=32,
        alpha=16,
        learning_rate=5e-5,
        weight_decay=0.05,
        edge_layers_only=False,
        train_embeddings=False,
        global_batch=128,
    ),
}


def calibration_preset(mode: str, overrides: dict[str, Any]) -> CalibrationSettings:
    """A mode's preset with the given settings replaced (None values keep the preset's)."""
    from dataclasses import replace

    return replace(PRESETS[mode], **{k: v for k, v in overrides.items() if v is not None})
