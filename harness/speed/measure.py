"""`lep-bench speed`: generation speed measured as a benchmark, not as a side effect of scoring.

Every request generates exactly `new_tokens` tokens (EOS ignored) from a fixed Russian and English
prompt set, in two regimes: one request at a time (latency: time to first token, time per output
token) and `batch` requests at once (throughput: output tokens/s). Each round loads every model afresh (a
loaded instance keeps a speed of its own, docs/log.md; reloading turns that bias into noise the interval
sees). Warm-up rounds are thrown away; within each trial the models take turns cell by cell (regime and
language) in an order that rotates each trial, so a ratio between two models is taken trial by trial under
the same machine load. Trials go on past the minimum until every ratio's 95% interval is within the target
precision or the time cap would be passed (harness/speed/precision.py).
Effective speed = decode tokens/s x the model's characters per token on a fixed Russian text: what a
reader waits for, including the slower step of a bigger vocabulary.

On vLLM the figures are the engine's own (harness/serving/engine_metrics.py); on HF each step of one `generate`
call (min_new_tokens = max_new_tokens) is timed (harness/speed/engines.py).
"""

import contextlib
import gc
import hashlib
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.run.model_spec import ModelSpec, fingerprints, validate
from harness.serving.server import default_cpu_binding
from harness.shipped_text import flores_file
from harness.speed.engines import Engine, Measurement, open_engine
from harness.speed.precision import keep_going
from harness.speed.settings import LANGUAGES, REGIMES, SpeedSettings
from harness.speed.summary import Trials, summarise, widest_interval
from lep.atomic_write import write_json
from lep.errors import InputError
from lep.validation import check_output_dir, problems_of, raise_problems
from tasks_ru.data_sources import FLORES_DEVTEST

# what each language's prompt asks; the text itself only sets the prompt length, since the output length is fixed
INSTRUCTIONS = {"ru": "Продолжи текст: ", "en": "Continue the text: "}


def _text_file(data_dir: Path | None, lang: str) -> Path:
    """FLORES devtest from the offline data when given, else the copy lep-bench ships."""
    path = flores_file(lang, data_dir)
    if not path.is_file():
        raise InputError(f"speed prompts: {path} not found (the data dir needs {FLORES_DEVTEST})")
    return path


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


Results = dict[str, dict[str, dict[str, Measurement]]]  # model -> regime -> language, one round


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """The garbage collector run before a timed call and paused in it: a full collection of this process's heap
    takes far longer than a decode step, and would land in whichever model happened to trigger it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _round(engines: dict[str, Engine], order: list[str], settings: SpeedSettings, ids: dict[str, Any]) -> Results:
    """One round: each regime and language in turn, all models back to back in the round's order, so that both
    sides of a ratio are measured seconds apart, not a whole model's round apart with the machine's load free to
    change in between."""
    result: Results = {name: {regime: {} for regime in REGIMES} for name in order}
    for regime in REGIMES:
        for lang in LANGUAGES:
            for name in order:
                prompts = ids[name][lang]
                if regime == "throughput":
                    prompts = (prompts * settings.batch)[: settings.batch]
                with _no_collection():
                    result[name][regime][lang] = getattr(engines[name], regime)(prompts, settings.new_tokens)
    return result


def _rotated(names: list[str], shift: int) -> list[str]:
    return names[shift % len(names) :] + names[: shift % len(names)]


WARM_TOKENS = 2  # the untimed call that warms a freshly loaded model


@contextlib.contextmanager
def _loaded(
    specs: list[ModelSpec], settings: SpeedSettings, ids: dict[str, Any], progress: Callable[[str], None] | None
) -> Iterator[dict[str, Engine]]:
    """The models loaded in the given order, each warmed by one short untimed call of each regime (a fresh
    instance's first call pays for allocations no later one does), with the collector's view of them frozen so
    that each collection before a timed call is quick."""
    with contextlib.ExitStack() as stack:
        engines: dict[str, Engine] = {}
        for spec in specs:
            if progress:
                progress(f"speed · loading {spec.name} ({settings.backend})")
            engines[spec.name] = engine = stack.enter_context(open_engine(spec, settings))
            engine.latency(ids[spec.name]["ru"][:1], WARM_TOKENS)
            engine.throughput((ids[spec.name]["ru"] * settings.batch)[: settings.batch], WARM_TOKENS)
        gc.freeze()
        try:
            yield engines
        finally:
            gc.unfreeze()


def _interleaved_trials(
    specs: list[ModelSpec],
    settings: SpeedSettings,
    ids: dict[str, dict[str, list[list[int]]]],
    chars: dict[str, dict[str, float]],
    progress: Callable[[str], None],
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[Trials, list[list[str]], dict[str, Any]]:
    """Warm-up rounds and measured ones, the order rotating by one place each round, every model loaded afresh
    each round (or once: `reload`), until the stopping rule (harness/speed/precision.py) ends them; returns the
    kept trials, each round's order and how the measuring ended."""
    trials: Trials = {s.name: [] for s in specs}
    names = [s.name for s in specs]
    by_name = {s.name: s for s in specs}
    orders: list[list[str]] = []

    def next_round() -> Results:
        orders.append(_rotated(names, len(orders)))
        if once is not None:
            return _round(once, orders[-1], settings, ids)
        announce = progress if len(orders) == 1 else None
        with _loaded([by_name[name] for name in orders[-1]], settings, ids, announce) as engines:
            return _round(engines, orders[-1], settings, ids)

    with contextlib.ExitStack() as stack:
        once = stack.enter_context(_loaded(specs, settings, ids, progress)) if settings.reload == "once" else None
        start = clock()
        for warm in range(settings.warmup):
            progress(f"speed · warm-up {warm + 1}")
            next_round()
        measuring, kept, widest = clock(), 0, math.inf
        while keep_going(kept, len(names), clock() - start, (clock() - measuring) / max(kept, 1), widest, settings):
            for name, result in next_round().items():
                trials[name].append(result)
            kept += 1
            widest = widest_interval(trials, chars, names[0]) if kept > 1 else math.inf
            ratios = (
                f", widest ratio interval ±{widest:.1%} (target ±{settings.precision:.1%})" if len(names) > 1 else ""
            )
            progress(f"speed · trial {kept}, {clock() - start:.0f} s (cap {settings.max_seconds} s){ratios}")
    stopping = {
        "trials": kept,
        "seconds": clock() - start,
        "widest": widest,
        "target": settings.precision,
        "met": widest <= settings.precision,
    }
    return trials, orders, stopping


def measure_speed(
    specs: list[ModelSpec],
    settings: SpeedSettings,
    out: Path,
    data_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Path:
    """Measure (or reuse) one interleaved speed run over the models; returns the dir holding speed.json.

    The first model is the reference of the ratios. A killed run starts over: its trials were taken
    together, and trials from two sessions would not share a machine state.
    """
    raise_problems("speed settings", problems_of(SpeedSettings, asdict(settings)))
    check_output_dir(out)
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
    trials, orders, stopping = _interleaved_trials(specs, settings, ids, chars, progress)
    record = {
        "settings": asdict(settings),
        "models": [s.record() | {"fingerprints": fingerprints(s)} for s in specs],
        "reference": specs[0].name,
        "chars_per_token": chars,
        "prompts": texts,
        "order": orders,
        "stopping": stopping,
        "data_dir": str(data_dir) if data_dir else None,
        "machine": machine_record() | {"load_before": load_before, "load_after": os.getloadavg()},
        **server_binding(settings),
        "trials": {
            name: [{reg: {lang: asdict(m) for lang, m in r[reg].items()} for reg in r} for r in rounds]
            for name, rounds in trials.items()
        },
    } | summarise(trials, chars, specs[0].name, settings.precision)
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        record["warnings"].append(
            f"the machine was loaded when the run started (1-min load {load_before[0]:.1f} on {os.cpu_count()} cores)"
            + (
                f"; torch ran {record['machine']['torch_threads']} threads, so each step waited for the slowest of "
                "them: OMP_NUM_THREADS below the idle cores keeps the steps steady (docs/cli.md)"
                if settings.backend == "hf" and record["machine"]["torch_threads"] > 1
                else ""
            )
        )
    write_json(run_dir / "speed.json", record)
    return run_dir


def load_speed(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "speed.json").read_text(encoding="utf-8"))
