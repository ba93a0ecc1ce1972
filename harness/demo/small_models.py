"""Small Llama/Mistral-architecture models built from a config around a real tokenizer.

No pretrained LM can be downloaded here, so tests, benchmarks and the demo build their models:
same architecture and file layout as the real ones, a few layers, seeded random weights.
"""

from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
)


def build_small_model(
    tokenizer: PreTrainedTokenizerFast,
    out: Path,
    architecture: str = "llama",
    hidden_size: int = 64,
    layers: int = 2,
    tied: bool = False,
    seed: int = 0,
    max_positions: int = 2048,
) -> Path:
    """Save a seeded random model whose vocabulary is exactly the tokenizer's, with the tokenizer, to `out`."""
    torch.manual_seed(seed)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden_size // 32),
        num_key_value_heads=max(1, hidden_size // 64),
        head_dim=32,
        max_position_embeddings=max_positions,
        tie_word_embeddings=tied,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    if architecture == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common))
    elif architecture == "mistral":
        model = MistralForCausalLM(MistralConfig(**common, sliding_window=None))
    else:
        raise ValueError(f"unknown architecture {architecture!r}")
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return Path(out)


def derive_instruct(
    base: Path, tokenizer: PreTrainedTokenizerFast, out: Path, noise: float = 0.05, seed: int = 0
) -> Path:
    """A stand-in "instruct" model of `base`: every weight perturbed by `noise` of its own scale,
    the vocabulary grown to the instruct tokenizer's (new rows = mean row), as fine-tuning would leave it."""
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    if len(tokenizer) > model.config.vocab_size:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * noise * parameter.std().clamp_min(1e-6))
    for role in ("bos", "eos", "pad"):
        setattr(model.config, f"{role}_token_id", getattr(tokenizer, f"{role}_token_id"))
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return Path(out)
