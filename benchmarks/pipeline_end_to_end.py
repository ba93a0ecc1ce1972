"""The whole LEP pipeline on small models with the real tokenizers and real Russian text, served by vLLM.

    python benchmarks/pipeline_end_to_end.py [--out out/pipeline-e2e]

Two families, as in the paper: a Llama-architecture base and its "instruct" variant (every weight
perturbed, as a stand-in for instruction tuning) with the LLaMa-3
tokenizer (extended by a 64k Russian BPE) and a Mistral-architecture pair with the Mistral /
OpenChat-3.5 tokenizers (extended by a 32k Russian BPE). Models are small and random (none can
be downloaded); the corpus is $LEP_DATA_DIR/corpora/ru. Each family runs through
`lep-bench adapt pipeline` (tokenizer, init, embeddings-only training, propagation in three
modes); then every propagated model is served by vLLM and its greedy tokens are compared with
HF transformers'. Prints stage times, fit residuals and the comparison.
"""

import argparse
import json
import os
import time
from pathlib import Path

import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from harness.demo.small_models import build_small_model, derive_instruct
from harness.serving.server import ServerSettings, VllmServer
from lep.pipeline import run_pipeline
from lep.reference_tokenizers import load_tokenizer

FAMILIES = {
    "llama3": ("llama-3", "llama-3-instruct", "llama", 64000),
    "mistral": ("mistral-7b", "openchat-3.5", "mistral", 32000),
}
PROMPT = "Москва — столица России, и в ней"

MODES = ("swap", "overlap", "conversion")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/pipeline-e2e"))
    parser.add_argument("--max-chars", type=int, default=5_000_000)
    args = parser.parse_args()
    data = Path(os.environ.get("LEP_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    corpus = [str(data / "corpora" / "ru" / "wiki-leipzig-10k"), str(data / "corpora" / "ru" / "ruslit")]
    for family, (base_tok, inst_tok, architecture, new_size) in FAMILIES.items():
        folder = (args.out / family).resolve()
        if not (folder / "base").exists():
            build_small_model(load_tokenizer(base_tok), folder / "base", architecture, hidden_size=128, seed=1)
            derive_instruct(folder / "base", load_tokenizer(inst_tok), folder / "instruct", seed=2)
        config = {
            "workdir": "work",
            "base_model": "base",
            "instruct_model": "instruct",
            "corpus": corpus,
            "stages": {
                "tokenizer": {"method": "extend", "new_vocab_size": new_size, "max_chars": args.max_chars},
                "init": {},
                "train": {
                    "seq_len": 256,
                    "global_batch": 8,
                    "per_device_batch": 8,
                    "max_steps": 30,
                    "warmup_steps": 3,
                    "max_chars": 500_000,
                    "save_steps": 10,
                },
                "propagate": {"modes": list(MODES)},
            },
        }
        (folder / "pipeline.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        started = time.perf_counter()
        run_pipeline(folder / "pipeline.yaml")
        print(f"\n== {family}: pipeline {time.perf_counter() - started:.0f} s")
        train = json.loads((folder / "work" / "train" / "lep_train.json").read_text())
        print(
            f"train: {train['steps']} steps, loss {train['first_loss']:.3f} -> {train['last_loss']:.3f}, {train['tokens_per_second']} tokens/s"
        )
        for mode in MODES:
            model_dir = folder / "work" / f"propagate-{mode}"
            report = json.loads((model_dir / "lep_propagate.json").read_text())
            tokenizer = AutoTokenizer.from_pretrained(model_dir)
            model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
            ids = tokenizer(PROMPT, return_tensors="pt").input_ids
            expected = model.generate(ids, max_new_tokens=12, min_new_tokens=12, do_sample=False)[
                0, ids.shape[1] :
            ].tolist()
            started = time.perf_counter()
            with VllmServer(model_dir, f"{family}-{mode}", ServerSettings(max_model_len=512)) as server:
                ready = time.perf_counter() - started
                answer = server.complete(
                    PROMPT, max_tokens=12, logprobs=1, return_tokens_as_token_ids=True, ignore_eos=True
                )
            served = [int(t.split(":")[1]) for t in answer["choices"][0]["logprobs"]["tokens"]]
            fits = (
                ", ".join(f"{k} residual {v['relative_residual']:.2e}" for k, v in report["fits"].items()) or "no fit"
            )
            print(
                f"{mode:10s} vocab {report['vocab_size']}, {fits}, argmax agreement {report['argmax_agreement']:.0%}; "
                f"vLLM ready in {ready:.0f} s, answered {answer['choices'][0]['text']!r}; "
                f"greedy tokens identical to HF: {served == expected}"
            )


if __name__ == "__main__":
    main()
