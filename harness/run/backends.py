"""The three ways a model is run under lm-eval, built once per suite and closed afterwards.

- `vllm-server`: `vllm serve` subprocess (harness/serving/server.py) + lm-eval `local-completions` with the
  served tokenizer, BOS added (as the hf and vllm backends do) and max_length = the model's context
  (ModelSpec.context_length);
- `vllm`: lm-eval's in-process vLLM backend;
- `hf`: lm-eval's transformers backend.

Every setting that changes a score goes into `record()` and so into the run fingerprint.
"""

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, Strict

from harness.run.model_spec import ModelSpec
from harness.serving.environment import scoped_environ
from harness.serving.server import ServerSettings, VllmServer, default_cpu_binding
from lep.errors import InputError
from lep.validation import MAX_BATCH, NonNegativeInt, Port, PositiveInt, problems_of, raise_problems

Backend = Literal["vllm-server", "vllm", "hf"]
BACKENDS: tuple[str, ...] = get_args(Backend)
DEFAULT_BACKEND = "auto"
# Measured on this project's CPU machine (benchmarks/backend_crossover.py, docs/backends.md):
# vLLM's 30-50 s start dominates below ~50M parameters, where HF generates as fast; above, vLLM's
# faster generation repays the start within a suite.
AUTO_VLLM_MIN_PARAMETERS = 50_000_000


def parameter_count(model_dir: Path) -> int:
    """Approximate parameters of a Llama/Mistral-style model from its config (embeddings + blocks)."""
    import json

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    hidden, layers = config.get("hidden_size", 0), config.get("num_hidden_layers", 0)
    embeddings = config.get("vocab_size", 0) * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return embeddings + layers * (4 * hidden * hidden + 3 * hidden * config.get("intermediate_size", 4 * hidden))


def resolve_backend(choice: str, spec: ModelSpec) -> str:
    """`auto`: the vLLM server when vLLM is installed and the model is past the measured crossover, else hf."""
    if choice != "auto":
        return choice
    from importlib.util import find_spec

    if find_spec("vllm") is None or not (Path(spec.path) / "config.json").is_file():
        return "hf"
    return "vllm-server" if parameter_count(Path(spec.path)) >= AUTO_VLLM_MIN_PARAMETERS else "hf"


@dataclass(frozen=True)
class BackendSettings:
    """Backend choice and the settings all backends share."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    backend: Literal[("auto", *BACKENDS)] = "hf"  # type: ignore[valid-type]  # auto: RunRequest.for_model resolves it
    batch_size: Annotated[int, Strict(), Field(ge=1, le=MAX_BATCH)] = 8
    seed: NonNegativeInt = 1234
    device: str = "auto"  # hf only: auto = cuda when available, else cpu
    num_concurrent: PositiveInt = 4  # vllm-server: parallel HTTP requests
    # vllm-server: how long one HTTP request may take; not a scoring setting. lm-eval's 300 s is less than 8 prompts
    # of 1024 tokens take among 32 sequences on a 2-core CPU (ruIFEval); a dead server is caught by its watchdog
    request_timeout_s: PositiveInt = 3600
    port: Port | None = None  # vllm-server: fixed port (default: a free one); not a scoring setting
    tensor_parallel_size: PositiveInt = 1  # vllm, vllm-server: GPUs one model is split over (recorded when > 1)
    enforce_eager: Annotated[bool, Strict()] = False  # vllm, vllm-server: skip torch.compile (docs/backends.md)

    def server_settings(self, spec: ModelSpec) -> ServerSettings:
        """What the vllm-server backend starts `vllm serve` with."""
        return ServerSettings(
            dtype=spec.dtype,
            max_model_len=spec.context_length(),
            seed=self.seed,
            enforce_eager=self.enforce_eager,
            port=self.port,
            tensor_parallel_size=self.tensor_parallel_size,
        )

    def problems(self) -> list[str]:
        """Every setting outside its range (batch size 0, port 99999) or at odds with the backend, as lines."""
        found = problems_of(BackendSettings, asdict(self))
        if self.backend == "hf" and self.tensor_parallel_size != 1:
            found.append(
                f"tensor_parallel_size={self.tensor_parallel_size} needs the vllm or vllm-server backend (hf runs a "
                "model on one device)"
            )
        return found

    def record(self, spec: ModelSpec) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backend": self.backend,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "dtype": spec.dtype,
            "max_length": spec.context_length(),
            "add_bos_token": True,
        }
        if self.backend == "hf":
            out["device"] = _device(self.device)
        if self.backend == "vllm-server":
            server = self.server_settings(spec).record()
            out |= {"num_concurrent": self.num_concurrent, "tokenized_requests": True, "server": server}
        if self.backend == "vllm":
            out |= (
                {"enable_prefix_caching": False}
                | ({"tensor_parallel_size": self.tensor_parallel_size} if self.tensor_parallel_size != 1 else {})
                | ({"enforce_eager": True} if self.enforce_eager else {})
                | ({"cpu_binding": binding} if (binding := default_cpu_binding()) is not None else {})
            )
        return out


def _device(choice: str) -> str:
    if choice != "auto":
        return choice
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _apply_chat_template(lm, spec: ModelSpec) -> None:
    """A spec's chat template replaces the tokenizer's, on the tokenizer lm-eval renders prompts with."""
    if spec.chat_template:
        lm.tokenizer.chat_template = Path(spec.chat_template).read_text(encoding="utf-8")


def reading_after_one_bos(base: type) -> type:
    """`base` (an lm-eval LM class) reading a text whole after a single BOS.

    lm-eval's rolling log-likelihood puts the prefix token (BOS) before the text's tokens, and with
    add_bos_token those begin with BOS again: the model would be scored on predicting a second BOS, a cost per
    text that is no part of it (on the tiny test model 10 nats of a 43-character sentence).
    """

    class ReadingAfterOneBos(base):  # type: ignore[misc, valid-type]
        _rolling = False

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            self._rolling = True
            try:
                return super().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm)
            finally:
                self._rolling = False

        def tok_encode(self, string, *args, **kwargs):
            ids = super().tok_encode(string, *args, **kwargs)
            return ids[1:] if self._rolling and ids[:1] == [self.prefix_token_id] else ids

    ReadingAfterOneBos.__name__ = ReadingAfterOneBos.__qualname__ = f"{base.__name__}ReadingAfterOneBos"
    return ReadingAfterOneBos


@contextlib.contextmanager
def _hf(spec: ModelSpec, settings: BackendSettings, log_path: Path | None) -> Iterator[Any]:
    from lm_eval.models.huggingface import HFLM

    yield reading_after_one_bos(HFLM)(
        pretrained=spec.path,
        tokenizer=spec.tokenizer_path,
        dtype=spec.dtype,
        device=_device(settings.device),
        batch_size=settings.batch_size,
        max_length=spec.context_length(),
        add_bos_token=True,
    )


@contextlib.contextmanager
def _vllm(spec: ModelSpec, settings: BackendSettings, log_path: Path | None) -> Iterator[Any]:
    from lm_eval.models.vllm_causallms import VLLM

    # vLLM in this process reads its CPU settings (KV cache size, cores) from the environment only: they are set
    # as the server backend gets them, for as long as the engine runs
    with scoped_environ(settings.server_settings(spec).engine_environment()):
        yield reading_after_one_bos(VLLM)(
            pretrained=spec.path,
            tokenizer=spec.tokenizer_path,
            dtype=spec.dtype,
            max_model_len=spec.context_length(),
            seed=settings.seed,
            batch_size=settings.batch_size,
            add_bos_token=True,
            enable_prefix_caching=False,
            tensor_parallel_size=settings.tensor_parallel_size,
            enforce_eager=settings.enforce_eager,
        )


@contextlib.contextmanager
def _vllm_server(spec: ModelSpec, settings: BackendSettings, log_path: Path | None) -> Iterator[Any]:
    server_settings = settings.server_settings(spec)
    with VllmServer(
        Path(spec.path), spec.name, server_settings, tokenizer=Path(spec.tokenizer_path), log_path=log_path
    ) as server:
        lm = _served_completions_class()(
            base_url=f"{server.base_url}/completions",
            model=spec.name,
            tokenizer=spec.tokenizer_path,
            tokenizer_backend="huggingface",
            add_bos_token=True,
            max_length=spec.context_length(),
            tokenized_requests=True,
            num_concurrent=settings.num_concurrent,
            max_retries=1,
            timeout=settings.request_timeout_s,
            seed=settings.seed,
            batch_size=settings.batch_size,
            header={"Authorization": f"Bearer {server.api_key}"},
        )
        lm.server = server
        yield lm


OPENERS: dict[str, Callable[[ModelSpec, BackendSettings, Path | None], contextlib.AbstractContextManager[Any]]] = {
    "hf": _hf,
    "vllm": _vllm,
    "vllm-server": _vllm_server,
}


@contextlib.contextmanager
def open_backend(spec: ModelSpec, settings: BackendSettings, log_path: Path | None = None) -> Iterator[Any]:
    """Yield an lm-eval LM for the spec; a server (logging to `log_path`) is stopped on exit, error or signal."""
    raise_problems(f"model {spec.name}", settings.problems())
    if settings.backend not in OPENERS:
        raise InputError(
            f"backend {settings.backend!r} is not one of {', '.join(BACKENDS)} (auto is resolved per model by "
            "RunRequest.for_model)"
        )
    with OPENERS[settings.backend](spec, settings, log_path) as lm:
        _apply_chat_template(lm, spec)
        yield lm


def _served_completions_class():
    """lm-eval's `local-completions`, adding BOS by the hf/vllm backends' rule: unless the text
    already starts with it (a chat template writes its own). Stock local-completions adds it either
    always or never, which shifts every chat-templated log-likelihood."""
    from lm_eval.models.openai_completions import LocalCompletionsAPI

    class ServedCompletions(LocalCompletionsAPI):
        _seed: int | None  # the seed lm-eval sends with every request

        def tok_encode(self, string, left_truncate_len=None, add_special_tokens=False, truncation=False, **kwargs):
            bos = self.tokenizer.bos_token

            def encode(text: str) -> list[int]:
                add = bool(self.add_bos_token or add_special_tokens) and not (bos and text.startswith(bos))
                ids = self.tokenizer(
                    text, add_special_tokens=add, truncation=truncation, return_attention_mask=False
                ).input_ids
                return ids[-left_truncate_len:] if left_truncate_len else ids

            return encode(string) if isinstance(string, str) else [encode(s) for s in string]

        def generate_until(self, requests, disable_tqdm: bool = False):
            """A prompt asked for several samples (lm-eval repeats the same request) goes without the per-request
            seed: with it vLLM would answer every copy with the same sample. The server's seed still seeds it."""
            if len({id(r) for r in requests}) == len(requests):
                return super().generate_until(requests, disable_tqdm)
            seed, self._seed = self._seed, None
            try:
                return super().generate_until(requests, disable_tqdm)
            finally:
                self._seed = seed

    return reading_after_one_bos(ServedCompletions)


class GenerationTimer:
    """Times an LM's generate_until calls and totals what they produced (the user-visible speed)."""

    def __init__(self, lm) -> None:
        self.seconds = 0.0
        self.outputs: list[str] = []
        inner = lm.generate_until

        def timed(requests, *args, **kwargs):
            start = time.perf_counter()
            out = inner(requests, *args, **kwargs)
            self.seconds += time.perf_counter() - start
            self.outputs += list(out)
            return out

        lm.generate_until = timed

    def reset(self) -> None:
        self.seconds, self.outputs = 0.0, []
