"""The demo's profiles (`lep-bench compare --profile NAME`): what each adapts, without building anything
(harness/demo.py builds them), so the CLI lists them without importing torch."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SmolProfile:
    """How much adaptation a SmolLM2 profile does."""

    new_vocab_size: int
    train: dict


# The vocabulary size comes from the measured FLORES curve (README "LEP on a real model",
# benchmarks/smollm2_vocab_curve.py). With the few KB of embedded text the BPE ends far below it.
SMOL_PROFILES = {
    # ~6k tokens of training: what a few minutes of this 2-core CPU allow (about 30 s a step under load)
    "smollm2": SmolProfile(
        16000,
        {
            "seq_len": 128,
            "global_batch": 4,
            "per_device_batch": 4,
            "max_steps": 12,
            "warmup_steps": 2,
            "save_steps": 4,
            "logging_steps": 2,
            "learning_rate": 2e-3,
            "seed": 0,
        },
    ),
    # 100x the tokens (1.2M): for a GPU, or hours of CPU
    "smollm2-long": SmolProfile(
        16000,
        {
            "seq_len": 256,
            "global_batch": 16,
            "per_device_batch": 8,
            "max_steps": 300,
            "warmup_steps": 20,
            "save_steps": 50,
            "logging_steps": 10,
            "learning_rate": 1e-3,
            "seed": 0,
        },
    ),
}
PROFILES = (*SMOL_PROFILES, "synthetic")
DEFAULT_PROFILE = "smollm2"
