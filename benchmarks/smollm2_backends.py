"""Does SmolLM2-135M-Instruct compute the same thing through every backend? Greedy chat answers and log-likelihoods.

    python benchmarks/smollm2_backends.py [--backends hf vllm-server vllm] [--max-tokens 48] [--out out/smollm2-backends.json]

24 chat prompts (12 Russian, 12 English) are rendered with the model's own chat template and answered
greedily (float32) by transformers, the vLLM server (/v1/completions on the same token ids) and
in-process vLLM; every answer is compared token for token with transformers', and a divergence is
reported with where it starts and the logit margin transformers had there (a near-tie explains a flip).
Log-likelihoods: every prompt + its transformers answer, scored token by token by each backend
(echo + logprobs); the maximum |difference| from transformers is printed. Per-task ru-open scores per
backend come from `lep-bench run` + benchmarks/compare_backends_samples.py (see docs/backends.md).
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from harness.run.gguf_import import named_model_dir

PROMPTS = [
    "What is the capital of France?",
    "Name three primary colours.",
    "Translate to French: good morning.",
    "Write one sentence about the sea.",
    "What is 12 plus 30?",
    "Who wrote Romeo and Juliet?",
    "Give a synonym for 'happy'.",
    "Repeat exactly: The quick brown fox jumps over the lazy dog.",
    "What is the largest planet in the solar system?",
    "Explain in one sentence what a computer is.",
    "List the days of the week.",
    "What colour is the sky on a clear day?",
    "Какая столица Франции?",
    "Назови три цвета.",
    "Переведи на английский: доброе утро.",
    "Напиши одно предложение о море.",
    "Сколько будет два плюс два?",
    "Кто написал «Войну и мир»?",
    "Повтори точно: Мама мыла раму.",
    "Какая самая большая планета Солнечной системы?",
    "Что такое компьютер? Ответь одним предложением.",
    "Перечисли дни недели.",
    "Какого цвета небо в ясный день?",
    "Переведи на русский: I like reading books.",
]


def hf_answers(model_dir: Path, prompts: list[list[int]], max_tokens: int) -> tuple[list[list[int]], list[list[float]]]:
    """Greedy answers (token ids) and, per generated step, the margin between the top two logits."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    answers, margins = [], []
    with torch.no_grad():
        for ids in prompts:
            out = model.generate(
                torch.tensor([ids]),
                max_new_tokens=max_tokens,
                do_sample=False,
                output_scores=True,
                return_dict_in_generate=True,
                eos_token_id=2,
                pad_token_id=2,
            )
            answers.append(out.sequences[0, len(ids) :].tolist())
            margins.append([float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in out.scores])
    return answers, margins


def hf_logprobs(model_dir: Path, sequences: list[list[int]]) -> list[list[float]]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    out = []
    with torch.no_grad():
        for ids in sequences:
            logits = model(torch.tensor([ids])).logits[0].log_softmax(-1)
            out.append([float(logits[i - 1, ids[i]]) for i in range(1, len(ids))])
    return out


def server_run(model_dir: Path, prompts: list[list[int]], sequences: list[list[int]], max_tokens: int):
    from harness.serving.server import ServerSettings, VllmServer

    started = time.perf_counter()
    with VllmServer(model_dir, "smollm2", ServerSettings(dtype="float32", max_model_len=2048)) as server:
        ready = time.perf_counter() - started
        answers = []
        for ids in prompts:
            choice = server.complete(ids, max_tokens=max_tokens, return_token_ids=True, stop_token_ids=[2])["choices"][
                0
            ]
            answers.append(_strip_eos(choice["token_ids"]))
        logprobs = []
        for ids in sequences:
            choice = server.complete(ids, max_tokens=1, echo=True, logprobs=0)["choices"][0]
            logprobs.append([float(x) for x in choice["logprobs"]["token_logprobs"][1 : len(ids)]])
    return answers, logprobs, ready


def _strip_eos(ids: list[int]) -> list[int]:
    return ids[: ids.index(2) + 1] if 2 in ids else ids


def inprocess_run(model_dir: Path, prompts: list[list[int]], sequences: list[list[int]], max_tokens: int):
    import os

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    started = time.perf_counter()
    llm = LLM(model=str(model_dir), dtype="float32", max_model_len=2048, seed=0, enable_prefix_caching=False)
    ready = time.perf_counter() - started
    greedy = SamplingParams(temperature=0.0, max_tokens=max_tokens, stop_token_ids=[2])
    answers = [
        _strip_eos(list(o.outputs[0].token_ids))
        for o in llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], greedy)
    ]
    scoring = SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=0)
    logprobs = []
    for o, ids in zip(llm.generate([TokensPrompt(prompt_token_ids=s) for s in sequences], scoring), sequences):
        logprobs.append([float(o.prompt_logprobs[i][ids[i]].logprob) for i in range(1, len(ids))])
    return answers, logprobs, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["hf", "vllm-server", "vllm"])
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--out", type=Path, default=Path("out/smollm2-backends.json"))
    args = parser.parse_args()
    from transformers import AutoTokenizer

    model_dir = named_model_dir("smollm2-135m-instruct")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=True, return_dict=False
        )
        for p in PROMPTS
    ]
    prompts = [list(p["input_ids"]) if isinstance(p, dict) else list(p) for p in prompts]
    started = time.perf_counter()
    reference, margins = hf_answers(model_dir, prompts, args.max_tokens)
    print(f"hf: {len(prompts)} answers in {time.perf_counter() - started:.0f} s")
    sequences = [p + a for p, a in zip(prompts, reference)]
    reference_lp = hf_logprobs(model_dir, sequences)
    results: dict[str, Any] = {"prompts": PROMPTS, "hf": [tokenizer.decode(a) for a in reference], "backends": {}}
    for backend in args.backends:
        if backend == "hf":
            continue
        run = server_run if backend == "vllm-server" else inprocess_run
        answers, logprobs, ready = run(model_dir, prompts, sequences, args.max_tokens)
        diffs = [abs(a - b) for x, y in zip(reference_lp, logprobs) for a, b in zip(x, y)]
        same, divergences = 0, []
        for i, (a, b) in enumerate(zip(reference, answers)):
            if a == b:
                same += 1
                continue
            at = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            divergences.append(
                {
                    "prompt": PROMPTS[i],
                    "first_different_token": at,
                    "hf_top2_margin_there": round(margins[i][at], 4) if at < len(margins[i]) else None,
                    "hf": tokenizer.decode(a),
                    backend: tokenizer.decode(b),
                }
            )
        results["backends"][backend] = {
            "ready_s": round(ready, 1),
            "identical": same,
            "of": len(prompts),
            "max_abs_logprob_diff": max(diffs),
            "mean_abs_logprob_diff": sum(diffs) / len(diffs),
            "tokens_scored": len(diffs),
            "divergences": divergences,
        }
        print(
            f"{backend}: ready in {ready:.0f} s; greedy answers identical to hf: {same}/{len(prompts)}; "
            f"log-likelihood max |diff| {max(diffs):.2e} nats over {len(diffs)} tokens (mean {sum(diffs) / len(diffs):.1e})"
        )
        for d in divergences:
            print(
                f"  diverges at token {d['first_different_token']} (hf top-2 margin {d['hf_top2_margin_there']}): {d['prompt']!r}"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for prompt, answer in list(zip(PROMPTS, results["hf"]))[:4] + list(zip(PROMPTS, results["hf"]))[12:16]:
        print(f"  {prompt!r} -> {answer!r}")


if __name__ == "__main__":
    main()
