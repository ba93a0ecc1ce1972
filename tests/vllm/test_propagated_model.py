"""A propagated model (the small pipeline's Conversion output) served by vLLM gives HF's greedy tokens."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_serves_the_propagated_model_with_hf_greedy_tokens(finished_pipeline):
    from harness.serving.server import ServerSettings, VllmServer

    model_dir = finished_pipeline / "propagate-conversion"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    prompt = "Утром над рекой поднимался"
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    expected = model.generate(ids, max_new_tokens=8, do_sample=False, min_new_tokens=8)[0, ids.shape[1] :].tolist()
    with VllmServer(model_dir, "propagated", ServerSettings(max_model_len=512, enforce_eager=True)) as server:
        answer = server.complete(prompt, max_tokens=8, logprobs=1, return_tokens_as_token_ids=True, ignore_eos=True)
    served = [int(token.split(":")[1]) for token in answer["choices"][0]["logprobs"]["tokens"]]
    assert served == expected
