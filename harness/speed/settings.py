"""What a `lep-bench speed` run measures, with the range of every setting (checked before any model loads);
importable without torch, so the CLI's defaults come from here."""

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, Strict

from harness.run.model_spec import Dtype

LANGUAGES = ("ru", "en")
REGIMES = ("latency", "throughput")


@dataclass(frozen=True)
class SpeedSettings:
    """What a speed run measures; all of it is recorded and fingerprinted."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    backend: Literal["hf", "vllm-server"] = "hf"
    new_tokens: Annotated[int, Strict(), Field(ge=2, le=4096)] = 64
    trials: Annotated[int, Strict(), Field(ge=5, le=1000)] = 5  # the minimum: more run until `precision` is reached
    # every ratio's 95% interval within ±precision of the ratio, or `max_seconds` of measuring, whichever comes first
    precision: Annotated[float, Field(ge=0.001, le=0.5, allow_inf_nan=False)] = 0.03
    max_seconds: Annotated[int, Strict(), Field(ge=0, le=86400)] = 600
    warmup: Annotated[int, Strict(), Field(ge=1, le=100)] = 1
    # round: every model loaded afresh each round. A loaded instance keeps its own speed for as long as it lives
    # (up to ±7% on one shape here, docs/log.md), which one load for all trials turns into a bias no number of
    # trials removes; a fresh load each round makes it noise that the interval sees. once: load once (on
    # vllm-server that saves a server start per model per round, at the price of that bias)
    reload: Literal["round", "once"] = "round"
    batch: Annotated[int, Strict(), Field(ge=2, le=1024)] = 16  # throughput regime: requests sent at once
    prompts: Annotated[int, Strict(), Field(ge=1, le=256)] = 4  # per language
    dtype: Dtype = "float32"
