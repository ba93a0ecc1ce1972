"""Step 3 of LEP: embeddings-only continued pre-training with the transformers Trainer.

Only the input embeddings and the LM head learn (one matrix when tied); every transformer block
and norm is frozen. `objective: distill` trains the new input rows alone against the original
model's hidden states instead (lep/token_distillation.py). `new_rows_only` also keeps the rows
copied from the old vocabulary bit-identical. Checkpoints go to `<out>.checkpoints/` and a rerun
resumes from the last one; the finished model replaces `<out>` only when training is complete. Weights stay float32 (the
optimizer's master copy) and bf16 GPUs run the forward and backward passes under autocast: with
bf16 weights, as the authors ran (`--bf16 --torch_dtype bfloat16`), an Adam step at lr 2e-4 is
below bf16's resolution for most entries and is rounded away (`precision="bf16-weights"` keeps
that set-up for comparison). Multi-GPU runs go through
`accelerate launch` / `torchrun` on the same command (the Trainer handles DDP, FSDP, DeepSpeed;
configs/accelerate/fsdp-8gpu.yaml is a starting point).
"""

import json
import logging
import os
import shutil
import time
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments, default_data_collator
from transformers.trainer_callback import ExportableState

from lep.atomic_write import write_json
from lep.averaging_operator import copied_rows, load_operator
from lep.checkpoint_io import Checkpoint
from lep.corpus import iter_corpus, iter_documents, require_text
from lep.embedding_init import INIT_MANIFEST, OPERATOR_FILE
from lep.errors import InputError
from lep.packing import PackedSequences, ParagraphBlocks, RepeatedHalves
from lep.reference_tokenizers import load_tokenizer
from lep.safetensors_header import check_safetensors
from lep.stage_settings import TrainSettings, check_settings
from lep.token_distillation import AlignedTexts, DistillationTrainer, collate
from lep.validation import check_output_dir

TRAIN_MANIFEST = "lep_train.json"
TrainingData = ParagraphBlocks | PackedSequences | RepeatedHalves | AlignedTexts


def trainable_embeddings(model: torch.nn.Module, input_only: bool = False) -> list[torch.nn.Parameter]:
    """Freeze everything, then unfreeze the input embeddings and (unless `input_only`) the LM head (once if tied)."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    heads = [] if input_only else [model.get_output_embeddings().weight]
    matrices = {id(p): p for p in (model.get_input_embeddings().weight, *heads)}
    for parameter in matrices.values():
        parameter.requires_grad_(True)
    return list(matrices.values())


class KeepRows(TrainerCallback):
    """Hold chosen rows of the trainable matrices at their starting values.

    The gradient hook stops Adam from building momentum for them; restoring after each step
    also undoes weight decay, which acts on every row whatever its gradient.
    """

    def __init__(self, parameters: list[torch.nn.Parameter], rows: torch.Tensor):
        self.targets = [(p, p.detach()[rows].clone()) for p in parameters]
        self.rows = rows
        for parameter in parameters:
            parameter.register_hook(lambda grad: grad.masked_fill(self.rows.to(grad.device)[:, None], 0.0))

    def on_step_end(self, args, state, control, **kwargs):
        with torch.no_grad():
            for parameter, original in self.targets:
                parameter[self.rows.to(parameter.device)] = original.to(parameter.device)


class TimeBudget(TrainerCallback, ExportableState):
    """Stop training, and save, once `minutes` of training are spent.

    The seconds spent are saved with each checkpoint's trainer state; a resumed run starts from them
    (`spent_before`), so a killed run gets only what is left of its budget, and a larger --max-minutes given on
    resuming is the one that counts. On several processes the stop is agreed by all, so none waits for the rest.
    """

    def __init__(self, minutes: float, spent_seconds: float = 0.0):
        self.minutes = minutes
        self.spent_seconds = spent_seconds
        self.since: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.since = time.perf_counter()
        state.stateful_callbacks.setdefault(type(self).__name__, self.state())  # a checkpoint saved without it

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        self.spent_seconds += now - (self.since or now)
        self.since = now
        stop = self.spent_seconds >= self.minutes * 60
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            flag = torch.tensor([float(stop)], device=args.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            stop = bool(flag.item())
        if stop:
            control.should_training_stop = True
            control.should_save = True
        return control

    def state(self) -> dict:
        return {"args": {"minutes": self.minutes}, "attributes": {"spent_seconds": self.spent_seconds}}


def spent_before(checkpoint: str | None) -> float:
    """The training seconds a checkpoint's run had spent (0 for a fresh run or one saved without a budget)."""
    if checkpoint is None:
        return 0.0
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
    return float(
        state.get("stateful_callbacks", {}).get("TimeBudget", {}).get("attributes", {}).get("spent_seconds", 0.0)
    )


def _bf16_available() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def uses_bf16(precision: str) -> bool:
    """Whether the Trainer runs bf16 mixed precision (autocast) for this setting here."""
    return precision in ("bf16-autocast", "bf16-weights") or (precision == "auto" and _bf16_available())


def weight_dtype(precision: str) -> torch.dtype:
    """The dtype the model's weights, and so the optimizer's updates, live in."""
    return torch.bfloat16 if precision == "bf16-weights" else torch.float32


def training_dataset(
    tokenizer, corpus: list[Path], settings: TrainSettings
) -> ParagraphBlocks | PackedSequences | RepeatedHalves:
    """The packed training sequences of `corpus` for `settings.packing`, a `repeat_share` of them copying."""
    blocks: ParagraphBlocks | PackedSequences
    if settings.packing == "paragraphs":
        blocks = ParagraphBlocks(tokenizer, iter_documents(corpus, settings.max_chars), settings.seq_len)
    else:
        blocks = PackedSequences(tokenizer, iter_corpus(corpus, settings.max_chars), settings.seq_len)
    return RepeatedHalves(blocks, settings.repeat_share) if settings.repeat_share > 0 else blocks


def training_arguments(settings: TrainSettings, checkpoints: Path, world_size: int = 1) -> TrainingArguments:
    accumulation = max(1, settings.global_batch // (settings.per_device_batch * world_size))
    return TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=settings.per_device_batch,
        gradient_accumulation_steps=accumulation,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        adam_beta1=0.9,
        adam_beta2=0.95,
        adam_epsilon=1e-5,
        lr_scheduler_type="cosine",
        warmup_steps=settings.warmup_steps,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        bf16=uses_bf16(settings.precision),
        gradient_checkpointing=settings.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if settings.gradient_checkpointing else None,
        save_steps=settings.save_steps,
        save_total_limit=2,
        logging_steps=settings.logging_steps,
        logging_first_step=True,
        include_num_input_tokens_seen="non_padding",
        report_to=[],
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=not torch.cuda.is_available(),
        remove_unused_columns=settings.objective != "distill",  # the teacher's inputs are not the model's
        disable_tqdm=False,
    )


def checkpoints_dir(out: Path) -> Path:
    """Where a training run into `out` keeps its checkpoints (beside it, so `out` appears only when finished)."""
    return out.parent / f"{out.name}.checkpoints"


def last_good_checkpoint(checkpoints: Path) -> str | None:
    """The newest checkpoint whose weights are complete; a corrupt newer one is skipped with a warning."""
    numbered = [p for p in checkpoints.glob("checkpoint-*") if p.name.removeprefix("checkpoint-").isdigit()]
    for candidate in sorted(numbered, key=lambda p: int(p.name.removeprefix("checkpoint-")), reverse=True):
        try:
            check_safetensors(sorted(candidate.glob("*.safetensors")) or [candidate / "model.safetensors"])
        except (InputError, OSError) as problem:
            logging.getLogger(__name__).warning(
                "warning: skipping checkpoint %s, resuming from an earlier one: %s", candidate, problem
            )
            continue
        return str(candidate)
    return None


def _check_inputs(model_dir: Path, corpus: list[Path], out: Path, settings: TrainSettings) -> Checkpoint:
    """Every input of a training checked before the model loads: output path, positions, corpus, operator."""
    check_output_dir(out)
    if (out / TRAIN_MANIFEST).is_file():
        raise InputError(f"{out} already holds a finished training run; choose another --out")
    checkpoint = Checkpoint(model_dir)
    positions = checkpoint.config.get("max_position_embeddings")
    if positions and settings.seq_len > positions:
        raise InputError(
            f"seq_len {settings.seq_len} is longer than the model's {positions} positions: pass --seq-len "
            f"{positions} or less"
        )
    require_text(corpus)
    if (settings.new_rows_only or settings.objective == "distill") and not (checkpoint.path / OPERATOR_FILE).is_file():
        flag = "--objective distill" if settings.objective == "distill" else "--new-rows-only"
        raise InputError(f"{flag} needs {OPERATOR_FILE} in {checkpoint.path}; pass a model made by 'adapt init'")
    if settings.objective == "distill":
        original = teacher_of(checkpoint.path)
        if not (Path(original["model"]) / "config.json").is_file():
            raise InputError(
                f"--objective distill learns from the original model, which {checkpoint.path / INIT_MANIFEST} "
                f"names as {original['model']}, and that is not a model dir here: put it back at that path"
            )
    return checkpoint


def teacher_of(model_dir: Path) -> dict[str, str]:
    """The original model and tokenizer an adapted model was made from (its init manifest says)."""
    path = Path(model_dir) / INIT_MANIFEST
    if not path.is_file():
        raise InputError(
            f"--objective distill needs {path} (it names the original model); pass a model made by 'adapt init'"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return {"model": manifest["model"], "tokenizer": manifest["original_tokenizer"]}


def _manifest(
    checkpoint: Checkpoint,
    corpus: list[Path],
    settings: TrainSettings,
    dataset: TrainingData,
    trainer: Trainer,
    result: Any,
    resume: str | None,
    seconds: float,
) -> dict[str, Any]:
    """What the finished training records beside the model: settings, data, losses, speed."""
    log = trainer.state.log_history
    losses = [entry["loss"] for entry in log if "loss" in entry]
    # the Trainer's own running mean of non-padding tokens/s for this session, logged with each loss
    speeds = [entry["train_tokens_per_second"] for entry in log if "train_tokens_per_second" in entry]
    return {
        "stage": "train",
        "model": str(checkpoint.path),
        "corpus": [str(Path(p).resolve()) for p in corpus],
        "settings": asdict(settings),
        "sequences": len(dataset),
        "real_tokens": dataset.real_tokens,
        "steps": trainer.state.global_step,
        "tokens_seen": int(trainer.state.num_input_tokens_seen),  # non-padding input tokens, over resumed runs
        "resumed_from": resume,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": result.training_loss,
        "tokens_per_second": speeds[-1] if speeds else None,
        "log": [
            {k: entry[k] for k in ("step", "loss", "train_tokens_per_second") if k in entry}
            for entry in log
            if "loss" in entry
        ],
        "wall_seconds": round(seconds, 1),
        "stopped_by_budget": bool(settings.max_minutes) and trainer.state.global_step < trainer.state.max_steps,
        "bf16": uses_bf16(settings.precision),
        "weight_dtype": str(weight_dtype(settings.precision)).removeprefix("torch."),
        "lep_bench_version": version("lep-bench"),
    }


def train_embeddings(model_dir: Path, corpus: list[Path], out: Path, settings: TrainSettings) -> Path:
    """Train `model_dir`'s embeddings on `corpus`; write the finished HF model dir to `out`."""
    out = Path(out)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))  # set by torchrun / accelerate launch
    settings = check_settings(settings, world_size)
    checkpoint = _check_inputs(model_dir, corpus, out, settings)
    tokenizer = load_tokenizer(checkpoint.path)
    if settings.objective == "distill":
        original = load_tokenizer(teacher_of(checkpoint.path)["tokenizer"])
        dataset: TrainingData = AlignedTexts(
            tokenizer, original, iter_corpus(corpus, settings.max_chars), settings.seq_len
        )
    else:
        dataset = training_dataset(tokenizer, corpus, settings)
    if len(dataset) == 0:
        raise InputError(
            f"corpus {corpus} gave no training sequences of {settings.seq_len} tokens; pass more text or a "
            "smaller --seq-len"
        )
    model = AutoModelForCausalLM.from_pretrained(checkpoint.path, dtype=weight_dtype(settings.precision))
    distill = settings.objective == "distill"
    if settings.full_model:
        parameters = list(model.parameters())
    else:
        parameters = trainable_embeddings(model, input_only=distill)
    checkpoints = checkpoints_dir(out)
    resume = last_good_checkpoint(checkpoints)
    callbacks: list[TrainerCallback] = []
    if settings.max_minutes:
        callbacks.append(TimeBudget(settings.max_minutes, spent_before(resume)))
    if settings.new_rows_only or distill:  # distillation's teacher is the original: its old rows are the answer
        callbacks.append(KeepRows(parameters, copied_rows(load_operator(checkpoint.path / OPERATOR_FILE))))
    common = dict(
        model=model,
        args=training_arguments(settings, checkpoints, world_size),
        train_dataset=dataset,
        data_collator=collate if distill else default_data_collator,
        callbacks=callbacks,
    )
    if distill:
        teacher = AutoModelForCausalLM.from_pretrained(teacher_of(checkpoint.path)["model"], dtype=torch.float32)
        trainer: Trainer = DistillationTrainer(teacher, **common)
    else:
        trainer = Trainer(**common)
    started = time.perf_counter()
    try:
        result = trainer.train(resume_from_checkpoint=resume)
    finally:
        if checkpoints.is_dir() and not any(checkpoints.iterdir()):
            checkpoints.rmdir()
    seconds = time.perf_counter() - started
    # Every rank takes part in the final save (FSDP gathers the full state dict); rank 0 finishes it.
    staging = out.parent / f".{out.name}.staging"
    trainer.save_model(str(staging))
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        (staging / "training_args.bin").unlink(missing_ok=True)  # a pickle; the manifest records the settings
        tokenizer.save_pretrained(staging)
        for name in (OPERATOR_FILE, "lep_init.json"):
            if (checkpoint.path / name).is_file():
                shutil.copy2(checkpoint.path / name, staging / name)
        manifest = _manifest(checkpoint, corpus, settings, dataset, trainer, result, resume, seconds)
        write_json(staging / TRAIN_MANIFEST, manifest)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
        shutil.rmtree(checkpoints, ignore_errors=True)
    return out
