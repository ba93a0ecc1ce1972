"""The settings each LEP stage accepts, importable without torch: the CLI's choices and defaults and the
pipeline's schema come from here, the stages themselves (which import torch and transformers) use them."""

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from lep.init_recipes import Recipe
from lep.validation import (
    MAX_BATCH,
    MAX_SEQ_LEN,
    MAX_VOCAB,
    Fraction,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    check_fields,
    problems_of,
    raise_problems,
)

# adapt tokenizer (lep/vocab_adaptation.py)
Method = Literal["bpe", "unigram", "extend", "optimize"]
Trainer = Literal["hf", "sentencepiece"]
KeepBy = Literal["frequency", "lowest-ids"]
LatinWords = Literal["auto", "drop", "keep"]
NewTokens = Literal["auto", "cyrillic", "all"]
METHODS: tuple[str, ...] = get_args(Method)
TRAINERS: tuple[str, ...] = get_args(Trainer)
KEEP_BY: tuple[str, ...] = get_args(KeepBy)
LATIN_WORDS: tuple[str, ...] = get_args(LatinWords)
NEW_TOKENS: tuple[str, ...] = get_args(NewTokens)
VocabSize = Annotated[int, Strict(), Field(ge=1, le=MAX_VOCAB)]


@dataclass
class TokenizerSettings:
    """How a vocabulary variant is built (docs/method.md §2); `tokenizer_problems` says which combinations are wrong."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    method: Method = "extend"
    vocab_size: VocabSize | None = None  # bpe/unigram: the new vocabulary's size (default: the base's); optimize: all
    new_vocab_size: VocabSize | None = None  # extend/optimize: the Russian BPE whose new tokens are added
    keep: VocabSize | None = None  # optimize: base tokens kept
    max_chars: PositiveInt | None = None  # stop reading the corpus after this many characters
    trainer: Trainer = "hf"
    keep_by: KeepBy = "frequency"
    ignore_merges: Annotated[bool, Strict()] | None = None  # None: as the base has it
    # Latin-script words in the text the new BPE learns from. auto: dropped for extend/optimize, whose new merges
    # go ahead of the base's (Latin ones would outrank its English merges: 0.78x English chars/token on SmolLM2),
    # kept for bpe/unigram, whose vocabulary must spell English itself. keep: the paper's raw text
    latin_words: LatinWords = "auto"
    # extend: which tokens of the Russian BPE are added. auto/cyrillic: those that spell a Cyrillic letter, with
    # only their merges ahead of the base's, so text without Cyrillic (English, numbers, code) is cut exactly as
    # the base cuts it (SmolLM2 16k: 92 of 15,620 new tokens were numbers and punctuation, 2% of English tokens,
    # and cost 22 of 89 English copies at step 0). all: every one (the paper's)
    new_tokens: NewTokens = "auto"

    def drops_latin(self) -> bool:
        """Whether the new BPE's training text loses its Latin-script words (`latin_words` resolved)."""
        return self.latin_words == "drop" or (self.latin_words == "auto" and self.method in ("extend", "optimize"))

    def cyrillic_only(self) -> bool:
        """Whether extend adds only the new tokens that spell a Cyrillic letter (`new_tokens` resolved)."""
        return self.method == "extend" and self.new_tokens != "all"


def tokenizer_problems(settings: TokenizerSettings) -> list[str]:
    """The combinations of tokenizer settings that cannot work, as lines (the ranges are the fields' own)."""
    problems = []
    if settings.trainer != "hf" and settings.method not in ("bpe", "unigram"):
        problems.append(
            f"trainer {settings.trainer!r} trains replacement vocabularies; use it with method bpe or unigram"
        )
    if settings.new_tokens != "auto" and settings.method != "extend":
        problems.append(f"new_tokens is a setting of method extend; leave it unset (auto) for method {settings.method}")
    if settings.ignore_merges is not None and settings.method == "unigram":
        problems.append("ignore_merges is a BPE setting; leave it unset for method unigram")
    if settings.method == "extend" and settings.new_vocab_size is None:
        problems.append("method extend needs new_vocab_size (--new-vocab-size): the size of the Russian BPE")
    if settings.method == "optimize":
        if settings.keep is None or settings.new_vocab_size is None:
            problems.append("method optimize needs keep (--keep) and new_vocab_size (--new-vocab-size)")
        elif settings.vocab_size is not None and settings.keep >= settings.vocab_size:
            problems.append(
                f"keep={settings.keep} is not below vocab_size={settings.vocab_size}: the kept base tokens leave no "
                "room for new ones; lower --keep or raise --vocab-size"
            )
    return problems


# adapt init (lep/embedding_init.py; the recipes are lep/init_recipes.py's)
OutputRecipe = Literal["input", "mean", "wmean", "first", "first-margin"]  # first-margin: lep/output_margin.py
OUTPUT_RECIPES: tuple[str, ...] = get_args(OutputRecipe)


@dataclass
class InitSettings:
    """How new rows are initialised: input rows by `recipe`, output rows by `output_recipe` (input: the same rows),
    which a tied head can only take when it is untied and so has rows of its own."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    recipe: Recipe = "mean"  # mean: the paper's
    output_recipe: OutputRecipe = "input"
    # None: a tied model gets an lm_head of its own (+ new rows x hidden size weights), the recipe that read
    # Russian best after training on SmolLM2 (docs/method.md); False keeps it tied; untied models have their own
    untie: Annotated[bool, Strict()] | None = None


def unties(settings: InitSettings, tied: bool) -> bool:
    """Whether init gives this model an lm_head of its own: a tied one unless `untie` is False."""
    return tied and settings.untie is not False


def init_problems(settings: InitSettings, tied: bool) -> list[str]:
    """The init settings a model cannot take, as lines."""
    if tied and not unties(settings, tied) and settings.output_recipe not in ("input", settings.recipe):
        return [
            f"output_recipe {settings.output_recipe!r} needs output rows of their own, but untie is off and the "
            "model ties its lm_head to its input embeddings: drop --no-untie (untie: false), or leave "
            "output_recipe at 'input'"
        ]
    if not tied and settings.untie:
        return ["untie applies to a model with tied embeddings; this model's lm_head is already its own"]
    return []


# adapt propagate (lep/propagation.py)
Mode = Literal["swap", "overlap", "conversion", "bypass", "chat-vector"]
MODES: tuple[str, ...] = get_args(Mode)


# adapt train (lep/embedding_training.py; the packings are lep/packing.py's)
Packing = Literal["paragraphs", "documents"]
PACKINGS: tuple[str, ...] = get_args(Packing)
# auto: float32 weights, bf16 autocast where the GPU has bf16; bf16-autocast: the same, forced (CPU
# too); bf16-weights: weights loaded and updated in bf16 (the authors' run); fp32: no bf16 at all.
Precision = Literal["auto", "bf16-autocast", "bf16-weights", "fp32"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
# lm: next-token prediction (the paper); distill: the new input rows learn the original model's hidden states on
# the same text in its own tokens (lep/token_distillation.py)
Objective = Literal["lm", "distill"]
OBJECTIVES: tuple[str, ...] = get_args(Objective)


@dataclass
class TrainSettings:
    """Paper defaults (docs/method.md §4) at 256 x 1024 tokens a step; scale them with the flags.

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
    # a budget: stop (and save) after this many minutes of training, summed over resumed runs; the learning-rate
    # schedule still runs to max_steps, so a budget that stops early leaves the rate where it was
    max_minutes: PositiveFloat | None = None
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
    objective: Objective = "lm"
    # lm: the share of blocks whose second half repeats their first (lep/packing.py RepeatedHalves), so that new
    # tokens learn to be copied from context as well as predicted; 0: plain text only (the paper's)
    repeat_share: Fraction = 0.0


def train_problems(settings: TrainSettings, world_size: int = 1) -> list[str]:
    """The combinations of train settings that cannot work, as lines (the ranges are the fields' own)."""
    problems = []
    if settings.max_steps == 0:
        problems.append("max_steps=0 would train nothing: give a positive number, or -1 for the epochs' steps")
    if settings.global_batch % (settings.per_device_batch * world_size):
        problems.append(
            f"global_batch={settings.global_batch} is not a multiple of per_device_batch={settings.per_device_batch}"
            + (f" x {world_size} processes" if world_size > 1 else "")
            + ": the step would not hold the batch asked for"
        )
    if settings.objective == "distill" and settings.repeat_share > 0:
        problems.append("repeat_share is a setting of objective lm; distillation matches hidden states, not copies")
    if settings.objective == "distill" and settings.full_model:
        problems.append("objective distill trains the new input rows only; it cannot take full_model")
    if settings.new_rows_only and settings.full_model:
        problems.append("new_rows_only and full_model exclude each other: new rows only is an embeddings-only setting")
    return problems


def check_settings(settings: TrainSettings | dict, world_size: int = 1) -> TrainSettings:
    """The settings checked against their ranges and each other (every problem at once), before any loading."""
    values = asdict(settings) if isinstance(settings, TrainSettings) else settings
    checked = check_fields(TrainSettings, values, "train settings")
    raise_problems("train settings", train_problems(checked, world_size))
    return checked


# adapt calibrate (lep/calibration.py)
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CalibrationMode = Literal["self", "sft"]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial"]


@dataclass
class CalibrationSettings:
    """LoRA calibration settings (docs/method.md §6); each mode starts from its preset (PRESETS), every value a flag."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    rank: Annotated[int, Strict(), Field(ge=1, le=4096)]
    alpha: PositiveFloat
    learning_rate: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    weight_decay: Fraction
    edge_layers_only: Annotated[bool, Strict()]  # LoRA on the first and last transformer layers only
    train_embeddings: Annotated[bool, Strict()]  # embeddings and LM head trained in full (untied models)
    max_length: Annotated[int, Strict(), Field(ge=16, le=MAX_SEQ_LEN)] = 4096
    epochs: PositiveFloat = 1.0
    per_device_batch: Annotated[int, Strict(), Field(ge=1, le=MAX_BATCH)] = 4
    global_batch: Annotated[int, Strict(), Field(ge=1, le=1 << 20)] = 64
    scheduler: Scheduler = "cosine"
    seed: NonNegativeInt = 0
    max_steps: Annotated[int, Strict(), Field(ge=-1)] = -1  # -1: as many as the epochs take
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
CALIBRATION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CalibrationSettings))


def calibration_problems(mode: str, overrides: dict[str, Any]) -> list[str]:
    """What is wrong with a mode's preset once `overrides` replace its values (None keeps the preset's)."""
    values = asdict(PRESETS[mode]) | {k: v for k, v in overrides.items() if v is not None}
    problems = problems_of(CalibrationSettings, values)
    if values.get("max_steps") == 0:
        problems.append("max_steps=0 would train nothing: give a positive number, or -1 for the epochs' steps")
    return problems


def calibration_preset(mode: str, overrides: dict[str, Any]) -> CalibrationSettings:
    """A mode's preset with the given settings replaced (None values keep the preset's), checked like any input."""
    raise_problems("calibration settings", calibration_problems(mode, overrides))
    return check_fields(
        CalibrationSettings,
        asdict(PRESETS[mode]) | {k: v for k, v in overrides.items() if v is not None},
        "calibration settings",
    )


class CalibrationRequest(BaseModel):
    """What a calibration is made from (`adapt calibrate` and the pipeline's calibrate stage): the data, who answers
    it (self mode), the copy examples; any further key is a CalibrationSettings field over the mode's preset."""

    model_config = ConfigDict(extra="allow", frozen=True)

    mode: CalibrationMode
    data: Path  # sft: chat jsonl or hub id (online); self: prompts (.txt/.json/.jsonl)
    instruct: Path | None = None  # self: the ORIGINAL instruct model that answers the prompts
    judge: Path | None = None  # self: a model that grades the answers 1-5
    min_grade: Annotated[int, Strict(), Field(ge=1, le=5)] = 4
    max_new_tokens: Annotated[int, Strict(), Field(ge=1, le=MAX_SEQ_LEN)] = 512
    copy_corpus: tuple[Path, ...] = ()  # the copy examples' text
    copy_examples: NonNegativeInt = 0  # the paper: 10000 (self), 2000 (sft)

    @model_validator(mode="after")
    def _preset_overrides(self) -> "CalibrationRequest":
        if problems := calibration_problems(self.mode, self.overrides()):
            raise ValueError("; ".join(problems))
        return self

    def overrides(self) -> dict[str, Any]:
        """The CalibrationSettings fields given, over the mode's preset (None keeps the preset's)."""
        return dict(self.model_extra or {})
