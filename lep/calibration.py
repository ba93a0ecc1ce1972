"""Step 5 of LEP: calibrate a propagated model with LoRA (peft) and merge it into a plain HF model.

Two presets from docs/method.md §6, every value a flag:
- self: LoRA r 8, alpha 1, lr 2.5e-5, weight decay 0.1 on the first and last transformer layers,
  embeddings and LM head trained in full; data = the original instruct model's own answers
  (+ copy examples).
- sft: LoRA r 32, alpha 16, lr 5e-5, weight decay 0.05 on attention + MLP projections, LM head
  trained; max length 4096; cosine; data = chat data (+ copy examples).
The loss is on assistant tokens only. The merged model is saved as safetensors beside a record of
the data actually used.
"""

from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from torch.nn.utils.rnn import pad_sequence
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Trainer, TrainingArguments

from lep.atomic_write import write_json
from lep.calibration_data import Answerer, Example, calibration_examples, fingerprint
from lep.checkpoint_io import Checkpoint
from lep.errors import InputError
from lep.packing import IGNORE
from lep.reference_tokenizers import load_tokenizer
from lep.stage_settings import CalibrationRequest, CalibrationSettings, calibration_preset
from lep.staging import check_free, staged_dir

CALIBRATE_MANIFEST = "lep_calibrate.json"
# (instruct model, judge model or None, min grade, max new tokens) -> the `answer` calibration_examples takes:
# the harness serves the models (serving is its job), so it passes this in
SelfAnswerer = Callable[[Path, Path | None, int, int], Answerer]


def assistant_mask_tokens(
    example: Example, tokenizer: PreTrainedTokenizerFast, max_length: int
) -> dict[str, torch.Tensor]:
    """input_ids and labels with every non-assistant token masked.

    Each assistant turn's tokens are the difference between the chat template rendered up to the
    turn with a generation prompt and rendered including it, so any template that renders
    conversations as growing prefixes works, without {% generation %} markers.
    """
    messages = example["messages"]
    ids: list[int] = []
    labels: list[int] = []
    for turn, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(
            messages[:turn], add_generation_prompt=True, tokenize=True, return_dict=False
        )
        after = tokenizer.apply_chat_template(messages[: turn + 1], tokenize=True, return_dict=False)
        if after[: len(before)] != before or before[: len(ids)] != ids:
            raise InputError(
                "the chat template does not render conversations as growing prefixes; cannot isolate assistant tokens"
            )
        labels += [IGNORE] * (len(before) - len(ids)) + after[len(before) :]
        ids = list(after)
    return {"input_ids": torch.tensor(ids[:max_length]), "labels": torch.tensor(labels[:max_length])}


def _collate(pad_id: int):
    def collate(batch: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        ids = pad_sequence([b["input_ids"] for b in batch], batch_first=True, padding_value=pad_id)
        labels = pad_sequence([b["labels"] for b in batch], batch_first=True, padding_value=IGNORE)
        mask = pad_sequence([torch.ones_like(b["input_ids"]) for b in batch], batch_first=True, padding_value=0)
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    return collate


def lora_config(settings: CalibrationSettings, layers: int, tied: bool) -> LoraConfig:
    """Tied models keep their embeddings frozen: a full copy of one side would break the tie on save."""
    full = ["embed_tokens", "lm_head"] if settings.train_embeddings else ["lm_head"]
    return LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=0.0,
        target_modules=settings.target_modules,
        layers_to_transform=[0, layers - 1] if settings.edge_layers_only else None,
        modules_to_save=None if tied else full,
        task_type="CAUSAL_LM",
    )


def calibrate(
    model_dir: Path,
    examples: list[Example],
    out: Path,
    settings: CalibrationSettings,
    data_record: dict,
    overwrite: bool = False,
) -> Path:
    """LoRA-train `model_dir` on `examples`, merge, and write the merged model to `out`."""
    out = Path(out)
    check_free(out, overwrite)
    checkpoint = Checkpoint(model_dir)
    tokenizer = load_tokenizer(checkpoint.path)
    if not tokenizer.chat_template:
        raise InputError(f"{checkpoint.path} has no chat template; calibration data is rendered through it")
    if not examples:
        raise InputError("no calibration examples")
    dataset = [assistant_mask_tokens(e, tokenizer, settings.max_length) for e in examples]
    model = AutoModelForCausalLM.from_pretrained(checkpoint.path, dtype=torch.float32)
    tied = bool(model.config.tie_word_embeddings)
    peft_model = get_peft_model(model, lora_config(settings, model.config.num_hidden_layers, tied))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    args = TrainingArguments(
        output_dir=str(out.parent / f".{out.name}.checkpoints"),
        per_device_train_batch_size=settings.per_device_batch,
        gradient_accumulation_steps=max(1, settings.global_batch // settings.per_device_batch),
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        lr_scheduler_type=settings.scheduler,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        save_strategy="no",
        logging_steps=1,
        report_to=[],
        seed=settings.seed,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        remove_unused_columns=False,
    )
    trainer = Trainer(
        model=peft_model, args=args, train_dataset=dataset, data_collator=_collate(0 if pad is None else pad)
    )
    result = trainer.train()
    merged = peft_model.merge_and_unload()
    with staged_dir(out) as staging:
        merged.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        write_json(
            staging / CALIBRATE_MANIFEST,
            {
                "stage": "calibrate",
                "model": str(checkpoint.path),
                "settings": asdict(settings),
                "data": {**data_record, "examples": len(examples), "sha256": fingerprint(examples)},
                "assistant_tokens": int(sum(int((d["labels"] != IGNORE).sum()) for d in dataset)),
                "embeddings_trained": not tied,
                "train_loss": result.training_loss,
                "steps": trainer.state.global_step,
                "lep_bench_version": version("lep-bench"),
            },
        )
    return out


def run_calibration(
    model_dir: Path, out: Path, request: CalibrationRequest, self_answerer: SelfAnswerer | None, overwrite: bool = False
) -> Path:
    """A whole calibration as `adapt calibrate` and the pipeline's calibrate stage run it: the mode's preset with
    the request's overrides (checked first), the examples (self mode: answered by the original instruct model),
    then `calibrate`."""
    settings = calibration_preset(request.mode, request.overrides())
    check_free(Path(out), overwrite)
    answer = None
    if request.mode == "self":
        if request.instruct is None:
            raise InputError(
                "self-calibration needs the original instruct model, which answers the prompts (--instruct)"
            )
        if self_answerer is None:
            raise InputError("self-calibration needs a serving layer to answer prompts; run it through lep-bench")
        answer = self_answerer(request.instruct, request.judge, request.min_grade, request.max_new_tokens)
    examples, record = calibration_examples(
        request.mode, request.data, list(request.copy_corpus), request.copy_examples, answer
    )
    return calibrate(model_dir, examples, out, settings, record, overwrite)
