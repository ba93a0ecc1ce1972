"""The settings each LEP stage accepts, importable without torch: the CLI's choices and defaults and the
pipeline's schema come from here, the stages themselves (which import torch and transformers) use them."""

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, Strict

from lep.validation import (
    MAX_BATCH,
    MAX_SEQ_LEN,
    Fraction,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    check_fields,
    raise_problems,
)

# adapt tokenizer (lep/vocab_adaptation.py)
Method = Literal["bpe", "unigram", "extend", "optimize"]
Trainer = Literal["hf", "sentencepiece"]
KeepBy = Literal["frequency", "lowest-ids"]
METHODS: tuple[str, ...] = get_args(Method)
TRAINERS: tuple[str, ...] = get_args(Trainer)
KEEP_BY: tuple[str, ...] = get_args(KeepBy)

# adapt propagate (lep/propagation.py)
MODES = ("swap", "overlap", "conversion", "bypass", "chat-vector")


# adapt train (lep/embedding_training.py; the packings are lep/packing.py's)
Packing = Literal["paragraphs", "documents"]
PACKINGS: tuple[str, ...] = get_args(Packing)
# auto: float32 weights, bf16 autocast where the GPU has bf16; bf16-autocast: the same, forced (CPU
# too); bf16-weights: weights loaded and updated in bf16 (the authors' run); fp32: no bf16 at all.
Precision = Literal["auto", "bf16-autocast", "bf16-weights", "fp32"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


@dataclass
class TrainSettings:
    """Paper defaults (METHOD.md §4) at 256 x 1024 tokens a step; scale them with the flags.

    The annotations are the allowed ranges, checked by `check_settings` before anything is loaded."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    seq_len: Annotated[int, Strict(), Field(ge=8, le=MAX_SEQ_LEN)] = 1024
    global_batch: Annotated[int, Strict(), Field(ge=1, le=1 << 20)] = 256
    per_device_batch: Annotated[int, Strict(), Field(ge=1, le=MAX_BATCH)] = 8
    learning_rate: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 2e-4
    weight_decay: Fraction = 0.1
    warmup_steps: NonNegativeInt = 100
    epochs: PositiveFloat = 1.0
    max_steps: Annotated[int, Strict(), Field(ge=-1)] = -1  # -1: as many as the epochs take
    new_rows_only: Annotated[bool, Strict()] = False
    full_model: Annotated[bool, Strict()] = (
        False  # train every weight (the demo's brief pretraining of its small base model)
    )
    gradient_checkpointing: Annotated[bool, Strict()] = False
    save_steps: PositiveInt = 500
    logging_steps: PositiveInt = 10
    max_chars: PositiveInt | None = None
    seed: NonNegativeInt = 0
    packing: Packing = "paragraphs"  # or "documents": BOS + line + EOS per sequence, padded
    precision: Precision = "auto"


def check_settings(settings: TrainSettings | dict, world_size: int = 1) -> TrainSettings:
    """The settings checked against their ranges and each other (every problem at once), before any loading."""
    values = asdict(settings) if isinstance(settings, TrainSettings) else settings
    checked = check_fields(TrainSettings, values, "train settings")
    problems = []
    if checked.max_steps == 0:
        problems.append("max_steps=0 would train nothing: give a positive number, or -1 for the epochs' steps")
    if checked.global_batch % (checked.per_device_batch * world_size):
        problems.append(
            f"global_batch={checked.global_batch} is not a multiple of per_device_batch={checked.per_device_batch}"
            + (f" x {world_size} processes" if world_size > 1 else "")
            + ": the step would not hold the batch asked for"
        )
    if checked.new_rows_only and checked.full_model:
        problems.append("new_rows_only and full_model exclude each other: new rows only is an embeddings-only setting")
    raise_problems("train settings", problems)
    return checked


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
