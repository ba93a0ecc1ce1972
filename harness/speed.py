"""`lep-bench speed`: generation speed measured as a benchmark, not as a side effect of scoring.

Every request generates exactly `new_tokens` tokens (EOS ignored) from a fixed Russian and English
prompt set, in two regimes: one request at a time (latency: time to first token, time per output
token) and `batch` requests at once (throughput: output tokens/s). Warm-up rounds are thrown away;
within each trial the models take turns in a rotating order, so a ratio between two models is taken
trial by trial under the same machine load, and its median and IQR say how stable it is.
Effective speed = decode tokens/s x the model's characters per token on a fixed Russian text: what a
reader waits for, including the slower step of a bigger vocabulary.

On vLLM the figures are the engine's own (harness/engine_metrics.py); on HF they are timed around
`generate` with min_new_tokens = max_new_tokens.
"""

import contextlib
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from harness.model_spec import ModelSpec, fingerprints, validate
from harness.serving import ServerSettings, VllmServer, default_cpu_binding
from lep.atomic_write import write_json
from lep.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

LANGUAGES = ("ru", "en")
REGIMES = ("latency", "throughput")
CV_WARNING = 0.05
# what each language's prompt asks; the text itself only sets the prompt length, since the output length is fixed
INSTRUCTIONS = {"ru": "Продолжи текст: ", "en": "Continue the text: "}


@dataclass(frozen=True)
class SpeedSettings:
    """What a speed run measures; all of it is recorded and fingerprinted."""

    backend: str = "hf"  # hf | vllm-server
    new_tokens: int = 64
    trials: int = 5
    warmup: int = 1
    batch: int = 16  # throughput regime: requests sent at once
    prompts: int = 4  # per language
    dtype: str = "float32"

    def check(self) -> None:
        limits = {
            "new_tokens": (2, 4096),
            "trials": (5, 1000),
            "warmup": (1, 100),
            "batch": (2, 1024),
            "prompts": (1, 256),
        }
        problems = [
            f"{name} must be a whole number from {low} to {high} (got {getattr(self, name)!r})"
            for name, (low, high) in limits.items()
            if not isinstance(getattr(self, name), int) or not low <= getattr(self, name) <= high
        ]
        if self.backend not in ("hf", "vllm-server"):
            problems.append(f"backend must be hf or vllm-server (got {self.backend!r})")
        if problems:
            raise InputError("speed settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str) -> "SpeedSettings":
        known = {f.name for f in fields(cls)}
        if unknown := set(values) - known:
            raise InputError(
                f"{where}: unknown speed setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        settings = cls(**values)
        settings.check()
        return settings


def _text_file(data_dir: Path | None, lang: str) -> Path:
    """FLORES devtest from the offline data when given, else the embedded sample."""
    if data_dir is not None:
        path = (
            data_dir / "parallel" / "flores200-devtest" / ("rus_Cyrl.devtest" if lang == "ru" else "eng_Latn.devtest")
        )
        if not path.is_file():
            raise InputError(f"speed prompts: {path} not found (the data dir needs parallel/flores200-devtest)")
        return path
    return Path(str(files("harness").joinpath("sample_text", f"{lang}.txt")))


def prompt_texts(data_dir: Path | None, count: int) -> dict[str, list[str]]:
    """The fixed prompt set: the first `count` lines of the Russian and English text."""
    out = {}
    for lang in LANGUAGES:
        lines = [
            line.strip() for line in _text_file(data_dir, lang).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        if len(lines) < count:
            raise InputError(
                f"speed prompts: {_text_file(data_dir, lang)} has {len(lines)} lines, fewer than prompts={count}"
            )
        out[lang] = [INSTRUCTIONS[lang] + line for line in lines[:count]]
    return out


def chars_per_token(tokenizer: Any, path: Path) -> float:
    """Characters per token of a whole text (no special tokens): the factor from tokens/s to chars/s."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tokens = sum(len(ids) for ids in tokenizer(lines, add_special_tokens=False)["input_ids"])
    return sum(len(line) for line in lines) / tokens


def prompt_ids(tokenizer: Any, spec: ModelSpec, texts: list[str]) -> list[list[int]]:
    """Token ids as the model is prompted: through the chat template for instruct models."""
    if spec.kind == "instruct":
        if spec.chat_template:
            tokenizer.chat_template = Path(spec.chat_template).read_text(encoding="utf-8")
        rendered = [
            tokenizer.apply_chat_template([{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True)
            for t in texts
        ]
        return [tokenizer(r, add_special_tokens=False)["input_ids"] for r in rendered]
    return [tokenizer(t)["input_ids"] for t in texts]


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


class HfEngine:
    """transformers `generate`, greedy, exactly N new tokens; TTFT = a 1-token generate, TPOT from the difference."""

    def __init__(self, spec: ModelSpec, dtype: str):
        import torch
        from transformers import AutoModelForCausalLM

        self.name = spec.name
        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(spec.path, dtype=getattr(torch, dtype)).eval()
        self.pad = self.model.config.eos_token_id if isinstance(self.model.config.eos_token_id, int) else 0

    def _generate(self, prompts: list[list[int]], new_tokens: int) -> tuple[int, float]:
        width = max(len(p) for p in prompts)
        ids = self.torch.tensor([[self.pad] * (width - len(p)) + p for p in prompts])
        mask = self.torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        start = time.perf_counter()
        with self.torch.inference_mode():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=self.pad,
            )
        seconds = time.perf_counter() - start
        return (out.shape[1] - width) * len(prompts), seconds

    def latency(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        tokens = seconds = first = 0.0
        for prompt in prompts:
            _, one = self._generate([prompt], 1)
            n, full = self._generate([prompt], new_tokens)
            tokens, seconds, first = tokens + n, seconds + full, first + one
        _expect_tokens(self.name, int(tokens), len(prompts) * new_tokens)
        return Measurement(
            int(tokens), seconds, first / len(prompts), (seconds - first) / (len(prompts) * (new_tokens - 1))
        )

    def throughput(self, prompts: list[list[int]], new_tokens: int) -> Measurement:
        _, first = self._generate(prompts, 1)
        tokens, seconds = self._generate(prompts, new_tokens)
        _expect_tokens(self.name, tokens, len(prompts) * new_tokens)
        return Measurement(tokens, seconds, first, (seconds - first) / (new_tokens - 1))


class ServerEngine:
    """A `vllm serve` subprocess; requests over HTTP, figures from the engine's Prometheus metrics."""

    def __init__(self, server: Any):
        self.server = server
        self.metrics_url = f"http://127.0.0.1:{server.port}/metrics"

    def _request(self, prompt: list[int], new_tokens: int) -> None:
        self.server.complete(prompt, max_tokens=new_tokens, min_tokens=new_tokens, ignore_eos=True)

    def _round(self, prompts: list[list[int]], new_tokens: int, concurrent: int) -> Measurement:
        from harness.engine_metrics import GENERATED, TPOT, TTFT, EngineDelta, scrape

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


def machine_record() -> dict[str, Any]:
    """What the figures depend on besides the models: processor, cores, load, thread settings."""
    import torch

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    threads = {
        k: os.environ.get(k)
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "VLLM_CPU_OMP_THREADS_BIND", "VLLM_CPU_KVCACHE_SPACE")
    }
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "thread_env": threads,
    }


def _spread(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    mean = float(array.mean())
    return {
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "cv": float(array.std(ddof=1) / mean) if mean and len(array) > 1 else 0.0,
        "n": len(array),
    }


FIGURES: dict[str, Callable[[Measurement, float], float]] = {
    "decode_tokens_per_s": lambda m, cpt: m.decode_tokens_per_s,
    "tokens_per_s": lambda m, cpt: m.tokens_per_s,
    "ttft_s": lambda m, cpt: m.ttft_s,
    "tpot_s": lambda m, cpt: m.tpot_s,
    "chars_per_s": lambda m, cpt: m.decode_tokens_per_s * cpt,  # effective, per stream: what one reader gets per second
    "total_chars_per_s": lambda m, cpt: m.tokens_per_s * cpt,  # effective, all streams of the round together
}


def summarise(
    trials: dict[str, list[dict[str, dict[str, Measurement]]]], chars: dict[str, dict[str, float]], reference: str
) -> dict[str, Any]:
    """Median/IQR/CV per model, regime, language and figure; ratios to the reference taken within each trial."""
    summary: dict[str, Any] = {}
    warnings = []
    for model, rounds in trials.items():
        summary[model] = {}
        for regime in REGIMES:
            for lang in LANGUAGES:
                cell = {}
                for figure, value in FIGURES.items():
                    values = [value(r[regime][lang], chars[model][lang]) for r in rounds]
                    cell[figure] = _spread(values)
                    if figure == "decode_tokens_per_s" and cell[figure]["cv"] > CV_WARNING:
                        warnings.append(
                            f"{model} {regime} {lang}: decode tokens/s varies by {cell[figure]['cv']:.1%} "
                            f"across trials (> {CV_WARNING:.0%})"
                        )
                summary[model][f"{regime}/{lang}"] = cell
    ratios: dict[str, Any] = {}
    for model, rounds in trials.items():
        if model == reference:
            continue
        ratios[model] = {}
        for regime in REGIMES:
            for lang in LANGUAGES:
                ratios[model][f"{regime}/{lang}"] = {
                    figure: _spread(
                        [
                            value(r[regime][lang], chars[model][lang])
                            / value(ref[regime][lang], chars[reference][lang])
                            for r, ref in zip(rounds, trials[reference])
                        ]
                    )
                    for figure, value in FIGURES.items()
                    if figure not in ("ttft_s", "tpot_s")
                }
    return {"summary": summary, "ratios": ratios, "warnings": warnings}


def server_binding(settings: SpeedSettings) -> dict[str, Any]:
    """The cores a vLLM server gets (they set its speed); nothing for HF, which vLLM's binding does not touch."""
    return {"cpu_binding": default_cpu_binding()} if settings.backend == "vllm-server" else {}


def speed_dir(out: Path, specs: list[ModelSpec], settings: SpeedSettings, data_dir: Path | None) -> Path:
    record: dict[str, Any] = {
        "models": [(s.name, s.kind, s.dtype, s.context_length(), fingerprints(s)) for s in specs],
        "settings": asdict(settings),
        "prompts": prompt_texts(data_dir, settings.prompts),
        "machine": {k: v for k, v in machine_record().items() if k != "thread_env"},
    } | server_binding(settings)
    return out / "speed" / hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:12]


def measure_speed(
    specs: list[ModelSpec],
    settings: SpeedSettings,
    out: Path,
    data_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> Path:
    """Measure (or reuse) one interleaved speed run over the models; returns the dir holding speed.json.

    The first model is the reference of the ratios. A killed run starts over: its trials were taken
    together, and trials from two sessions would not share a machine state.
    """
    settings.check()
    if len({s.name for s in specs}) != len(specs) or not specs:
        raise InputError("speed: give one or more models with distinct names")
    for spec in specs:
        validate(spec)
    texts = prompt_texts(data_dir, settings.prompts)
    run_dir = speed_dir(out, specs, settings, data_dir)
    if (run_dir / "speed.json").is_file():
        progress(f"reusing the speed run in {run_dir}")
        return run_dir
    from lep.reference_tokenizers import load_tokenizer

    ids, chars = {}, {}
    for spec in specs:
        tokenizer = load_tokenizer(spec.tokenizer_path)
        ids[spec.name] = {lang: prompt_ids(tokenizer, spec, texts[lang]) for lang in LANGUAGES}
        chars[spec.name] = {lang: chars_per_token(tokenizer, _text_file(data_dir, lang)) for lang in LANGUAGES}
    load_before = os.getloadavg()
    trials: dict[str, list[dict[str, dict[str, Measurement]]]] = {s.name: [] for s in specs}
    with contextlib.ExitStack() as stack:
        engines = {}
        for spec in specs:
            progress(f"speed · loading {spec.name} ({settings.backend})")
            engines[spec.name] = stack.enter_context(open_engine(spec, settings))
        names, orders = [s.name for s in specs], []
        for trial in range(settings.warmup + settings.trials):
            kept = trial >= settings.warmup
            progress(f"speed · {'trial ' + str(trial - settings.warmup + 1) if kept else 'warm-up ' + str(trial + 1)}")
            orders.append(names[trial % len(names) :] + names[: trial % len(names)])
            for name in orders[-1]:
                engine, result = engines[name], dict[str, Any]()
                for regime in REGIMES:
                    result[regime] = {}
                    for lang in LANGUAGES:
                        prompts = ids[name][lang]
                        if regime == "throughput":
                            prompts = (prompts * settings.batch)[: settings.batch]
                        result[regime][lang] = getattr(engine, regime)(prompts, settings.new_tokens)
                if kept:
                    trials[name].append(result)
    record = {
        "settings": asdict(settings),
        "models": [s.record() | {"fingerprints": fingerprints(s)} for s in specs],
        "reference": specs[0].name,
        "chars_per_token": chars,
        "prompts": texts,
        "order": orders,
        "data_dir": str(data_dir) if data_dir else None,
        "machine": machine_record() | {"load_before": load_before, "load_after": os.getloadavg()},
        **server_binding(settings),
        "trials": {
            name: [{reg: {lang: asdict(m) for lang, m in r[reg].items()} for reg in r} for r in rounds]
            for name, rounds in trials.items()
        },
    } | summarise(trials, chars, specs[0].name)
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        record["warnings"].append(
            f"the machine was loaded when the run started (1-min load {load_before[0]:.1f} on {os.cpu_count()} cores)"
        )
    write_json(run_dir / "speed.json", record)
    return run_dir


def load_speed(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "speed.json").read_text(encoding="utf-8"))


def speed_table(record: dict[str, Any]) -> "pd.DataFrame":
    """One row per model and regime: median [IQR] of the figures that matter, ratios to the reference."""
    import pandas as pd

    def cell(s: dict[str, float], scale: float = 1.0, digits: int = 1) -> str:
        return f"{s['median'] * scale:.{digits}f} [{s['q1'] * scale:.{digits}f}, {s['q3'] * scale:.{digits}f}]"

    rows = []
    for model, regimes in record["summary"].items():
        for regime in REGIMES:
            ru, en = regimes[f"{regime}/ru"], regimes[f"{regime}/en"]
            ratio = record["ratios"].get(model, {}).get(f"{regime}/ru")
            rows.append(
                {
                    "model": model,
                    "regime": "batch 1" if regime == "latency" else f"batch {record['settings']['batch']}",
                    "RU decode tok/s": cell(ru["decode_tokens_per_s"]),
                    "EN decode tok/s": cell(en["decode_tokens_per_s"]),
                    "RU chars/s (per stream)": cell(ru["chars_per_s"], digits=0),
                    "RU chars/s (all streams)": cell(ru["total_chars_per_s"], digits=0),
                    "TTFT ms (RU)": cell(ru["ttft_s"], 1000.0),
                    "chars/token RU": f"{record['chars_per_token'][model]['ru']:.2f}",
                    "× ref decode tok/s": cell(ratio["decode_tokens_per_s"], digits=3) if ratio else "ref",
                    "× ref RU chars/s": cell(ratio["chars_per_s"], digits=3) if ratio else "ref",
                }
            )
    return pd.DataFrame(rows)
