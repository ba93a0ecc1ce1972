"""Embeddings-only training: lep-bench's Trainer path vs a bare forward+backward+AdamW loop.

    python benchmarks/embedding_training_throughput.py --preset small   # CPU-sized Llama
    python benchmarks/embedding_training_throughput.py --preset 8b      # LLaMa-3-8B shape, bf16, GPU

Same model, same batch, same frozen parameters and optimiser settings in both; the two are run
alternately in one process and the ratio of their median step times is printed, with peak GPU
memory where there is a GPU. Weights are random (no checkpoint can be downloaded here).
"""

import argparse
import statistics
import time

import torch
from torch.utils.data import Dataset
from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainerCallback, default_data_collator

from lep.embedding_training import TrainSettings, trainable_embeddings, training_arguments

PRESETS = {
    "small": dict(
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=2,
        vocab_size=32000,
    ),
    "8b": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128256,
    ),
}


class RandomTokens(Dataset):
    def __init__(self, count: int, seq_len: int, vocab: int):
        self.ids = torch.randint(0, vocab, (count, seq_len), generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.ids[i]}


class StepTimer(TrainerCallback):
    def __init__(self):
        self.times: list[float] = []
        self.started = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times.append(time.perf_counter() - self.started)


def bare_steps(model, batch: dict, steps: int, settings: TrainSettings) -> list[float]:
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        parameters, lr=settings.learning_rate, betas=(0.9, 0.95), eps=1e-5, weight_decay=settings.weight_decay
    )
    times = []
    for _ in range(steps):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.cuda.is_available()):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return times


def trainer_steps(model, dataset: Dataset, steps: int, settings: TrainSettings) -> list[float]:
    settings.max_steps = steps
    timer = StepTimer()
    args = training_arguments(settings, checkpoints=__import__("pathlib").Path("/tmp/lep-throughput"))
    args.save_strategy = "no"
    args.disable_tqdm = True
    args.logging_steps = 10**9
    Trainer(
        model=model, args=args, train_dataset=dataset, data_collator=default_data_collator, callbacks=[timer]
    ).train()
    return timer.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=PRESETS, default="small")
    parser.add_argument("--batch", type=int, default=None, help="sequences per step (default: 2 for 8b, 4 for small)")
    parser.add_argument("--seq-len", type=int, default=None, help="default: 2048 for 8b, 256 for small")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--no-checkpointing", action="store_true", help="8b: keep all activations (faster, more memory)"
    )
    args = parser.parse_args()
    big = args.preset == "8b"
    checkpointing = big and not args.no_checkpointing
    batch_size, seq_len = args.batch or (2 if big else 4), args.seq_len or (2048 if big else 256)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    torch.manual_seed(0)
    torch.set_default_dtype(dtype)  # build the weights in their final dtype (an 8B fp32 copy would not fit beside it)
    with torch.device(device):
        model = LlamaForCausalLM(LlamaConfig(**PRESETS[args.preset], max_position_embeddings=seq_len))
    torch.set_default_dtype(torch.float32)
    model.config.use_cache = False
    trainable_embeddings(model)
    settings = TrainSettings(
        seq_len=seq_len,
        global_batch=batch_size,
        per_device_batch=batch_size,
        warmup_steps=0,
        gradient_checkpointing=checkpointing,
    )
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    dataset = RandomTokens(batch_size * args.steps, seq_len, model.config.vocab_size)
    batch = {k: v.to(device) for k, v in default_data_collator([dataset[i] for i in range(batch_size)]).items()}
    tokens = batch_size * seq_len
    results: dict[str, list[float]] = {"bare": [], "trainer": []}
    peaks = {"bare": 0.0, "trainer": 0.0}
    for _ in range(args.rounds):  # alternate, so both see the same machine state; first 2 steps of each are warm-up
        for name, run in (
            ("bare", lambda: bare_steps(model, batch, args.steps, settings)),
            ("trainer", lambda: trainer_steps(model, dataset, args.steps, settings)),
        ):
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            results[name] += run()[2:]
            if device == "cuda":
                peaks[name] = max(peaks[name], torch.cuda.max_memory_allocated() / 2**30)
    params = sum(p.numel() for p in model.parameters()) / 1e9
    print(
        f"preset {args.preset}: {params:.2f} B parameters, {dtype}, {device}, batch {batch_size} x {seq_len} tokens, "
        f"gradient checkpointing {checkpointing}"
    )
    for name, times in results.items():
        print(
            f"{name:8s} median step {statistics.median(times) * 1000:.1f} ms = {tokens / statistics.median(times):,.0f} tokens/s ({len(times)} steps)"
        )
    ratio = statistics.median(results["bare"]) / statistics.median(results["trainer"])
    print(f"Trainer throughput / bare loop: {ratio:.3f}")
    if device == "cuda":
        print(
            f"peak GPU memory: bare {peaks['bare']:.1f} GiB, trainer {peaks['trainer']:.1f} GiB ({torch.cuda.get_device_name()})"
        )


if __name__ == "__main__":
    main()
