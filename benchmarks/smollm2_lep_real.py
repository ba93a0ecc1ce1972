"""LEP on SmolLM2-135M-Instruct with real Russian text, evaluated where a tokenizer change is comparable.

    python benchmarks/smollm2_lep_real.py [--tokenizer out/smollm2-curve/extend16000] [--steps 12] [--sentences 100]

Initialises the extended model (lep/embedding_init.py) from the curve's tokenizer, trains its
embeddings only (lep/embedding_training.py) on the same Latin-free Russian text, and scores the
original, the initialised and the trained model on FLORES-200 devtest sentences (never trained on):
negative log-likelihood per character (nats/char, comparable across tokenizers, unlike per-token
figures; lower is better) in Russian and English, chat-free (plain text after BOS), plus tokens per
sentence. Finished stages are reused.
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch

from harness.run.gguf_import import named_model_dir
from lep.embedding_init import INIT_MANIFEST, initialise
from lep.embedding_training import TRAIN_MANIFEST, TrainSettings, train_embeddings


def nll_per_char(model_dir: Path, sentences: list[str]) -> tuple[float, float]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    nll, chars, tokens = 0.0, 0, 0
    with torch.no_grad():
        for text in sentences:
            ids = [tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False).input_ids
            logits = model(torch.tensor([ids])).logits[0, :-1].log_softmax(-1)
            nll -= float(logits.gather(1, torch.tensor(ids[1:])[:, None]).sum())
            chars, tokens = chars + len(text), tokens + len(ids) - 1
    return nll / chars, tokens / len(sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", type=Path, default=Path("out/smollm2-curve/extend16000"))
    parser.add_argument("--corpus", type=Path, default=Path("out/smollm2-curve/russian.txt"))
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--sentences", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("out/smollm2-lep-real"))
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    original = named_model_dir("smollm2-135m-instruct")
    init, trained = args.out / "init", args.out / "trained"
    if not (init / INIT_MANIFEST).is_file():
        started = time.perf_counter()
        initialise(original, args.tokenizer, init, overwrite=True)
        print(f"init: {time.perf_counter() - started:.0f} s", flush=True)
    settings = TrainSettings(
        seq_len=128,
        global_batch=4,
        per_device_batch=4,
        max_steps=args.steps,
        warmup_steps=2,
        save_steps=4,
        logging_steps=2,
        learning_rate=2e-3,
        max_chars=6 * args.steps * 4 * 128,
        seed=0,
    )
    if not (trained / TRAIN_MANIFEST).is_file():
        train_embeddings(init, [args.corpus], trained, settings)
    manifest = json.loads((trained / TRAIN_MANIFEST).read_text(encoding="utf-8"))
    print(
        f"trained: {args.steps} steps of {settings.global_batch} x {settings.seq_len} tokens, loss {manifest['first_loss']} -> {manifest['last_loss']}"
    )
    flores = data / "parallel" / "flores200-devtest"
    texts = {
        lang: (flores / f"{code}.devtest").read_text(encoding="utf-8").splitlines()[: args.sentences]
        for lang, code in (("ru", "rus_Cyrl"), ("en", "eng_Latn"))
    }
    rows = {}
    for name, model in (("smollm2-original", original), ("lep-init", init), ("lep-trained", trained)):
        rows[name] = {lang: nll_per_char(model, texts[lang]) for lang in texts}
    print(f"FLORES-200 devtest, first {args.sentences} sentences per language (nats/char: lower is better)")
    print("| model | ru nats/char | ru tokens/sentence | en nats/char | en tokens/sentence |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['ru'][0]:.4f} | {row['ru'][1]:.1f} | {row['en'][0]:.4f} | {row['en'][1]:.1f} |")
    (args.out / "figures.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
