"""bf16 weights vs float32 master weights under bf16 autocast: how much of each Adam step survives.

    python benchmarks/bf16_master_weights.py [--out out/bf16-bench] [--steps 20] [--scale 4]

One small Llama around the Mistral-7B tokenizer, its embedding and LM-head entries scaled by
`--scale` (x4: |entries| around 0.08, where bf16's spacing is 4.9e-4, more than an Adam step at
lr 2e-4), is trained embeddings-only with `train_embeddings` on the same Russian text, same steps,
on this CPU, once per precision. Printed per precision: the weight dtype, the share of LM-head
entries with |w| >= 0.0625 that changed at all and that moved by more than one bf16 spacing, the
mean |change| of those entries, and the first and last training loss.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from lep.embedding_training import TRAIN_MANIFEST, TrainSettings, train_embeddings
from lep.reference_tokenizers import load_tokenizer
from lep.small_models import build_small_model

EMBED, HEAD = "model.embed_tokens.weight", "lm_head.weight"


def bf16_spacing(values: torch.Tensor) -> torch.Tensor:
    """The distance from each value to the next bf16 number above its magnitude (8 significant bits)."""
    exponent = torch.floor(torch.log2(values.abs().clamp_min(1e-30)))
    return torch.pow(2.0, exponent - 7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/bf16-bench"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    corpus = [data / "corpora" / "ru" / "ruslit" / "prose" / "Gogol"]
    if args.out.exists():
        shutil.rmtree(args.out)
    start = build_small_model(load_tokenizer("mistral-7b"), args.out / "start", "llama", seed=0)
    weights = load_file(str(start / "model.safetensors"))
    for name in (EMBED, HEAD):
        weights[name] *= args.scale
    save_file(weights, str(start / "model.safetensors"), metadata={"format": "pt"})
    before = weights[HEAD]
    large = before.abs() >= 0.0625
    spacing = bf16_spacing(before)
    print(f"LM head: {int(large.sum()):,} of {before.numel():,} entries with |w| >= 0.0625; lr {args.learning_rate}, {args.steps} steps, cosine, no warmup")
    print("| precision | weights | changed | moved > 1 bf16 spacing | mean abs change | first loss | last loss |")
    print("|---|---|---|---|---|---|---|")
    for precision in ("bf16-autocast", "bf16-weights", "fp32"):
        settings = TrainSettings(
            seq_len=128, global_batch=8, per_device_batch=8, learning_rate=args.learning_rate, warmup_steps=0,
            max_steps=args.steps, save_steps=10**6, logging_steps=1, max_chars=300_000, precision=precision,
        )
        out = train_embeddings(start, corpus, args.out / precision, settings)
        after = load_file(str(out / "model.safetensors"))[HEAD]
        reference = before.bfloat16().float() if after.dtype == torch.bfloat16 else before
        change = (after.float() - reference).abs()[large]
        manifest = json.loads((out / TRAIN_MANIFEST).read_text(encoding="utf-8"))
        print(
            f"| {precision} | {str(after.dtype).removeprefix('torch.')} | {float((change > 0).float().mean()):.2%} "
            f"| {float((change > spacing[large]).float().mean()):.2%} | {float(change.mean()):.2e} "
            f"| {manifest['first_loss']:.4f} | {manifest['last_loss']:.4f} |"
        )


if __name__ == "__main__":
    main()
