"""The two engines a speed run times: transformers `generate` in this process, and a `vllm serve` subprocess
read through the engine's own Prometheus metrics (harness/serving/engine_metrics.py). Each generates exactly
N tokens per request (EOS ignored) and returns one Measurement per round."""

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.run.model_spec import ModelSpec
from harness.serving.server import ServerSettings, VllmServer
from harness.speed.settings import SpeedSettings


@dataclass(frozen=True)
class Measurement:
    """One model, one regime, one language, one trial."""

    tokens: int  # generated tokens, counted by the engine (vLLM) or from the output ids (HF)
    seconds: float  # wall time of the round
    ttft_s: float  # mean time to first token
    tpot_s: float  # mean time per output token after the first

    @property
    def decode_tokens_per_s(self) -> float:
        return 1.0 / self.tpot_s

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


class Engine(Protocol):
    def latency(self, prompts: list[list[int]], new_tokens: int) -> Measurement: ...
    def throughput(self, prompts: list[list[int]], new_tokens: int) -> Measurement: ...


def _expect_tokens(name: str, got: int, expected: int) -> None:
    if got != expected:
        raise RuntimeError(
            f"{name} generated {got} tokens where exactly {expected} were asked for; the timing would not "
            "be like for like"
        )


class _StepClock:
    """A `generate` streamer that times each decoding step: its first `put` is the prompt, every later one the
    step's new tokens, so one call gives the time to the first token and the time per token after it."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if self.prompt_seen:
            self.steps.append(time.perf_counter())
        self.prompt_seen = True

    def end(self) -> None:
        pass


class HfEngine:
    """transformers `generate`, greedy, exactly N new tokens, each step timed within the one call: TTFT is the
    first step's time from the start, TPOT the mean time of the steps after it (never a difference of two calls,
    which the machine's noise can make negative)."""

    def __init__(self, spec: ModelSpec, dtype: str):
        import torch
        from transformers import AutoModelForCausalLM

        self.name = spec.name
        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(spec.path, dtype=getattr(torch, dtype)).eval()
        self.pad = self.model.config.eos_token_id if isinstance(self.model.config.eos_token_id, int) else 0

    def _generate(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        width = max(len(p) for p in prompts)
        ids = self.torch.tensor([[self.pad] * (width - len(p)) + p for p in prompts])
        mask = self.torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        clock = _StepClock()
        start = time.perf_counter()
        with self.torch.inference_mode():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=self.pad,
                streamer=clock,
            )
        seconds = time.perf_counter() - start
        tokens = (out.shape[1] - width) * len(prompts)
        _expect_tokens(self.name, tokens, len(prompts) * new_tokens)
        tpot = (clock.steps[-1] - clock.steps[0]) / (len(clock.steps) - 1)
        return Measurement(tokens, seconds, clock.steps[0] - start, tpot)

    def latency(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        """One request at a time; the figures are the means over the prompts."""
        rounds = [self._generate([prompt], new_tokens) for prompt in prompts]
        return Measurement(
            sum(r.tokens for r in rounds),
            sum(r.seconds for r in rounds),
            sum(r.ttft_s for r in rounds) / len(rounds),
            sum(r.tpot_s for r in rounds) / len(rounds),
        )

    def throughput(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        return self._generate(prompts, new_tokens)


class ServerEngine:
    """A `vllm serve` subprocess; requests over HTTP, figures from the engine's Prometheus metrics."""

    def __init__(self, server: Any):
        self.server = server
        self.metrics_url = f"http://127.0.0.1:{server.port}/metrics"

    def _request(self, prompt: list[int], new_tokens: int) -> None:
        self.server.complete(prompt, max_tokens=new_tokens, min_tokens=new_tokens, ignore_eos=True)

    def _round(self, prompts: list[list[int]], new_tokens: int, concurrent: int) -> Measurement:
        from harness.serving.engine_metrics import GENERATED, TPOT, TTFT, EngineDelta, scrape

        before = scrape(self.metrics_url, self.server.api_key)
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrent) as pool:
            list(pool.map(lambda p: self._request(p, new_tokens), prompts))
        seconds = time.perf_counter() - start
        delta = EngineDelta(before, scrape(self.metrics_url, self.server.api_key))
        tokens = int(delta.delta(GENERATED))
        _expect_tokens(self.server.name, tokens, len(prompts) * new_tokens)
        return Measurement(tokens, seconds, delta.mean(TTFT), delta.mean(TPOT))

    def latency(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        return self._round(prompts, new_tokens, concurrent=1)

    def throughput(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        return self._round(prompts, new_tokens, concurrent=len(prompts))


@contextlib.contextmanager
def open_engine(spec: ModelSpec, settings: SpeedSettings) -> Iterator[Engine]:
    if settings.backend == "hf":
        yield HfEngine(spec, settings.dtype)
        return
    server_settings = ServerSettings(dtype=settings.dtype, max_model_len=spec.context_length())
    with VllmServer(Path(spec.path), spec.name, server_settings, tokenizer=Path(spec.tokenizer_path)) as server:
        yield ServerEngine(server)
