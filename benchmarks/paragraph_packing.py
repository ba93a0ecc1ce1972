"""Embeddings-only training with paragraph-preserving blocks vs the earlier line packing, one run.

    python benchmarks/paragraph_packing.py [--out out/packing-bench] [--steps 150] [--max-chars 3000000]

One small Llama-architecture model around the real Mistral-7B tokenizer (seeded random weights,
the same start for both) is trained with `train_embeddings` twice, same steps, batch, schedule and
training files (Russian literature from corpora/ru/ruslit/prose, minus one held-out author):
`packing="paragraphs"` (the authors' blocks, newlines kept, no padding) and `packing="documents"`
(BOS + line + EOS per sequence, padded). It prints both training-loss curves side by side, then the
loss of the start model and of both trained models on the held-out author's text as it is written,
in paragraph blocks: over all tokens and over the newline tokens alone.
"""

import argparse
import json
import math
import os
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

from harness.demo.small_models import build_small_model
from lep.corpus import corpus_files, iter_documents
from lep.embedding_training import TRAIN_MANIFEST, TrainSettings, train_embeddings
from lep.packing import ParagraphBlocks, newline_token_ids
from lep.reference_tokenizers import load_tokenizer

HELD_OUT_AUTHOR = "Chekhov"


def held_out_loss(model_dir: Path, blocks: ParagraphBlocks, newlines: torch.Tensor) -> tuple[float, float]:
    """Mean next-token loss over every token and over newline targets alone."""
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    total = total_newline = 0.0
    count = count_newline = 0
    with torch.no_grad():
        for start in range(0, len(blocks), 8):
            ids = torch.stack([blocks[i]["input_ids"] for i in range(start, min(start + 8, len(blocks)))])
            logits = model(ids).logits[:, :-1].float()
            targets = ids[:, 1:]
            losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
            is_newline = torch.isin(targets.reshape(-1), newlines)
            total += float(losses.sum())
            count += losses.numel()
            total_newline += float(losses[is_newline].sum())
            count_newline += int(is_newline.sum())
    return total / count, total_newline / max(count_newline, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/packing-bench"))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--max-chars", type=int, default=3_000_000)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seq-len", type=int, default=256)
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    prose = data / "corpora" / "ru" / "ruslit" / "prose"
    train_files = [f for f in corpus_files(prose) if f.parent.name != HELD_OUT_AUTHOR]
    held_out_files = corpus_files(prose / HELD_OUT_AUTHOR)

    if args.out.exists():
        shutil.rmtree(args.out)
    tokenizer = load_tokenizer("mistral-7b")
    start = build_small_model(tokenizer, args.out / "start", "llama", hidden_size=128, layers=2, seed=0)
    runs = {}
    for packing in ("paragraphs", "documents"):
        settings = TrainSettings(
            seq_len=args.seq_len,
            global_batch=8,
            per_device_batch=8,
            learning_rate=args.learning_rate,
            warmup_steps=10,
            max_steps=args.steps,
            save_steps=10**6,
            logging_steps=10,
            max_chars=args.max_chars,
            packing=packing,
        )
        runs[packing] = train_embeddings(start, train_files, args.out / packing, settings)
    manifests = {p: json.loads((d / TRAIN_MANIFEST).read_text(encoding="utf-8")) for p, d in runs.items()}

    print(
        f"\nmodel: Llama, hidden 128, 2 layers, Mistral-7B tokenizer (32,000), seeded random; embeddings-only; "
        f"{args.steps} steps x 8 x {args.seq_len} tokens, lr {args.learning_rate}, cosine, warmup 10"
    )
    print(
        f"training text: {len(train_files)} ruslit prose files (all but {HELD_OUT_AUTHOR}), first {args.max_chars:,} characters"
    )
    for packing, manifest in manifests.items():
        print(
            f"  {packing}: {manifest['sequences']} sequences, {manifest['real_tokens']:,} real tokens, {manifest['wall_seconds']} s"
        )
    print("\ntraining loss (mean of the last 10 steps)")
    print("| step | paragraphs | documents |")
    print("|---|---|---|")
    logs = {p: {e["step"]: e["loss"] for e in m["log"]} for p, m in manifests.items()}
    for step in sorted(logs["paragraphs"]):
        print(f"| {step} | {logs['paragraphs'][step]:.3f} | {logs['documents'].get(step, math.nan):.3f} |")

    newlines = torch.tensor(sorted(newline_token_ids(tokenizer)))
    blocks = ParagraphBlocks(tokenizer, iter_documents(held_out_files, 150_000), args.seq_len)
    print(
        f"\nheld-out loss: {HELD_OUT_AUTHOR} ({len(blocks)} paragraph blocks of {args.seq_len} tokens, text as written)"
    )
    print("| model | all tokens | newline tokens |")
    print("|---|---|---|")
    for name, model_dir in (("start", start), *runs.items()):
        everything, newline = held_out_loss(model_dir, blocks, newlines)
        print(f"| {name} | {everything:.3f} | {newline:.3f} |")


if __name__ == "__main__":
    main()
