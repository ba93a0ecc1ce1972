"""The `lep-bench` command: the only place that parses arguments, prints, sets logging levels and handles
signals; every command is one library call. A library error (LepError) becomes one line on stderr and exit
status 2, never a traceback. The parser needs only light modules; a command imports what it runs (torch,
transformers, lm-eval), so `lep-bench --help` answers at once.
"""

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Any, get_args, get_type_hints

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from harness.adapt_check.held_out import MAX_CHARS
from harness.demo.profiles import DEFAULT_PROFILE, DEMO_PROFILES
from harness.experiment import EXECUTORS
from harness.run.backends import BACKENDS, DEFAULT_BACKEND
from harness.run.evaluation import GENERATION_PRESETS
from harness.run.gguf_import import NAMED_MODELS
from harness.speed.settings import SpeedSettings
from lep.errors import LepError
from lep.init_recipes import RECIPES
from lep.reference_sources import REFERENCE_NAMES
from lep.stage_settings import (
    CALIBRATION_FIELDS,
    KEEP_BY,
    LATIN_WORDS,
    METHODS,
    MODES,
    NEW_TOKENS,
    OUTPUT_RECIPES,
    PRESETS,
    TRAINERS,
    InitSettings,
    TrainSettings,
    check_settings,
)
from tasks_ru.suites import SCORING_PROFILES, SUITES

DEFAULT_TOKENIZERS = ["llama-3", "mistral-7b", "openchat-3.5"]
EXIT_GATE_FAILED = 1  # `compare --gate`, `gate`: a score moved beyond tolerance, or a row, model or tokenizer changed
EXIT_USER_ERROR = 2  # a LepError: bad input, one line on stderr
EXIT_INCOMPLETE = 3  # `compare`: the report was built, but some runs failed
Handler = Callable[[argparse.Namespace, Console], int]


def _say(console: Console) -> Callable[[str], None]:
    """The progress callback every command hands the library: one dim line per step."""
    return lambda line: console.print(f"[dim]{line}[/dim]", markup=True, highlight=False)


def _named_path(value: str) -> tuple[str, Path]:
    """A NAME=PATH argument (a language's corpus, a model to check)."""
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(
            f"expected NAME=PATH, a name, '=' and a path (ru=corpus/ru, mean=out/mean), got {value!r}"
        )
    return name, Path(path)


# --- lep-bench tokenizers ----------------------------------------------------------------------------------


def _add_tokenizers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "tokenizers",
        help="measure tokenizer efficiency on Russian and English corpora",
        description="Characters/bytes per token, fertility, NSL, RU/EN parity, vocabulary overlap and "
        "encode throughput. With no --corpus it runs on the FLORES-200 devtest sample lep-bench ships and says so.",
    )
    parser.add_argument(
        "--tokenizer",
        action="append",
        metavar="NAME_OR_PATH",
        help=f"reference name ({', '.join(REFERENCE_NAMES)}), HF dir, tokenizer.json, tiktoken file, "
        f"SentencePiece .model or hub id; repeat for several (default: {' '.join(DEFAULT_TOKENIZERS)})",
    )
    parser.add_argument(
        "--corpus", action="append", type=_named_path, metavar="LANG=PATH", help="file or folder; repeat"
    )
    parser.add_argument(
        "--parallel", nargs=2, type=Path, metavar=("PATH_RU", "PATH_EN"), help="aligned files for parity"
    )
    parser.add_argument(
        "--reference", metavar="NAME_OR_PATH", help="tokenizer for NSL and overlap (default: the first)"
    )
    parser.add_argument("--out", type=Path, default=Path("out/tokenizers"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=_run_tokenizers)


def _run_tokenizers(args: argparse.Namespace, console: Console) -> int:
    from harness.tokenizers.bench import TokenizerBenchSpec, benchmark_tokenizers, embedded_sample, markdown_table

    tokenizers = args.tokenizer or DEFAULT_TOKENIZERS
    if args.corpus:
        corpora: dict[str, list[Path]] = {}
        for lang, path in args.corpus:
            corpora.setdefault(lang, []).append(path)
        spec = TokenizerBenchSpec(tokenizers=tokenizers, corpora=corpora, parallel=args.parallel)
    else:
        spec = embedded_sample()
        spec.tokenizers = tokenizers
        spec.parallel = args.parallel or spec.parallel
        console.print("[yellow]No --corpus given: measuring the FLORES-200 devtest sample shipped with lep-bench.")
    spec.reference = args.reference or tokenizers[0]
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bars:
        tasks: dict[str, Any] = {}

        def progress(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                tasks[what] = bars.add_task(what, total=total)
            bars.update(tasks[what], completed=done)

        reports = benchmark_tokenizers(spec, args.out, progress)
    console.print(markdown_table(reports, spec), soft_wrap=True, markup=False)
    console.print(f"Wrote {args.out}/metrics.json, tokenizers.md and chars_per_token.png")
    return 0


# --- lep-bench adapt ---------------------------------------------------------------------------------------


def _add_adapt(commands: argparse._SubParsersAction) -> None:
    adapt = commands.add_parser("adapt", help="the LEP adaptation pipeline, stage by stage")
    stages = adapt.add_subparsers(dest="stage", required=True, metavar="STAGE")
    parser = stages.add_parser(
        "tokenizer",
        help="build a Russian-efficient vocabulary variant of a base tokenizer",
        description="Methods: bpe/unigram replace the vocabulary (--vocab-size, default the base's); extend appends "
        "the new tokens of a Russian BPE of --new-vocab-size; optimize keeps the --keep most frequent base tokens "
        "and extends with a --new-vocab-size BPE up to --vocab-size.",
    )
    parser.add_argument(
        "--base", required=True, metavar="NAME_OR_PATH", help="reference name, tokenizer path or hub id org/name[@rev]"
    )
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--corpus", required=True, nargs="+", type=Path, metavar="PATH", help="training files/folders")
    parser.add_argument("--vocab-size", type=int, metavar="N")
    parser.add_argument("--new-vocab-size", type=int, metavar="N")
    parser.add_argument("--keep", type=int, metavar="N")
    parser.add_argument("--max-chars", type=int, metavar="N", help="stop reading the corpus after N characters")
    parser.add_argument(
        "--trainer", choices=TRAINERS, default="hf", help="bpe/unigram: who trains them (sentencepiece: as the authors)"
    )
    parser.add_argument(
        "--keep-by", choices=KEEP_BY, default="frequency", help="optimize: which base tokens --keep keeps"
    )
    parser.add_argument(
        "--ignore-merges", action=argparse.BooleanOptionalAction, help="BPE ignore_merges (default: the base's)"
    )
    parser.add_argument(
        "--latin-words",
        choices=LATIN_WORDS,
        default="auto",
        help="Latin-script words in the new BPE's text (auto: dropped for extend/optimize, so the base keeps its "
        "English; kept for bpe/unigram)",
    )
    parser.add_argument(
        "--new-tokens",
        choices=NEW_TOKENS,
        default="auto",
        help="extend: the new BPE's tokens added (auto/cyrillic: only those with a Cyrillic letter, so text without "
        "Cyrillic is cut as the base cuts it; all: every one, the paper's)",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.set_defaults(run=_run_adapt_tokenizer)
    _add_init(stages)
    _add_train(stages)
    _add_propagate(stages)
    _add_calibrate(stages)
    _add_check(stages)
    pipeline = stages.add_parser("pipeline", help="run every stage of a YAML config, skipping finished ones")
    pipeline.add_argument("config", type=Path)
    pipeline.set_defaults(run=_run_pipeline)


def _run_adapt_tokenizer(args: argparse.Namespace, console: Console) -> int:
    from lep.vocab_adaptation import MANIFEST, AdaptationRequest, adapt_tokenizer

    request = AdaptationRequest(**{f.name: getattr(args, f.name) for f in fields(AdaptationRequest)})
    out = adapt_tokenizer(request)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    console.print(
        f"Wrote {out}: {manifest['method']} of {manifest['base']}, {manifest['vocab_size']} tokens "
        f"(base {manifest['base_vocab_size']}), trained in {manifest['train_seconds']} s on "
        f"{manifest['corpus']['chars']:,} characters"
        + (
            ", its Latin-script words left out of the new BPE's text"
            if manifest["settings"]["latin_words"] == "dropped"
            else ""
        )
        + (
            ", only its tokens that spell Cyrillic added (English is cut as the base cuts it)"
            if manifest["settings"].get("new_tokens") == "cyrillic"
            else ""
        )
    )
    return 0


def _flag_type(defaults: object, name: str) -> type:
    """The type a settings flag parses to: its default's, or, for a field that defaults to None, its annotation's."""
    value = getattr(defaults, name)
    if value is not None:
        return type(value)
    hint = get_type_hints(type(defaults))[name]
    return float if float in get_args(hint) else int


def _add_settings_flags(
    parser: argparse.ArgumentParser, defaults: object, names: tuple[str, ...], preset: bool
) -> None:
    """One flag per settings field (--seq-len for seq_len), typed from its default; with `preset` every default is
    None (the mode's preset decides), else the field's own."""
    for name in names:
        value = getattr(defaults, name)
        flag, shown = "--" + name.replace("_", "-"), "the mode's preset" if preset else value
        if isinstance(value, bool):
            action = argparse.BooleanOptionalAction if preset else "store_true"
            parser.add_argument(flag, action=action, default=None if preset else value, help=f"(default: {shown})")
        elif isinstance(value, list):
            parser.add_argument(flag, nargs="+", metavar="NAME", help=f"(default: {shown})")
        else:
            kind = _flag_type(defaults, name)
            parser.add_argument(
                flag,
                type=kind,
                default=None if preset else value,
                metavar="NAME" if kind is str else "N",
                help=f"(default: {shown})",
            )


def _add_init(stages: argparse._SubParsersAction) -> None:
    init = stages.add_parser(
        "init", help="resize a model to a new tokenizer; new rows from their old sub-token rows (--recipe)"
    )
    init.add_argument(
        "--model", required=True, type=Path, metavar="DIR", help="HF model dir (safetensors) or hub id org/name[@rev]"
    )
    init.add_argument(
        "--tokenizer", required=True, type=Path, metavar="DIR", help="new tokenizer (from 'adapt tokenizer')"
    )
    init.add_argument(
        "--original-tokenizer", metavar="NAME_OR_PATH", help="the model's tokenizer (default: the model dir's)"
    )
    init.add_argument(
        "--recipe", choices=RECIPES, default="mean", help="new input rows from their old pieces (lep/init_recipes.py)"
    )
    init.add_argument(
        "--output-recipe", choices=OUTPUT_RECIPES, default="input", help="new lm_head rows (input: as --recipe)"
    )
    init.add_argument(
        "--untie",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a tied model gets an lm_head of its own (the default for tied models; --no-untie keeps it tied)",
    )
    init.add_argument("--out", required=True, type=Path, metavar="DIR")
    init.add_argument("--overwrite", action="store_true")
    init.set_defaults(run=_run_init)


def _add_train(stages: argparse._SubParsersAction) -> None:
    train = stages.add_parser("train", help="embeddings-only continued pre-training (transformers Trainer)")
    train.add_argument("--model", required=True, type=Path, metavar="DIR", help="model from 'adapt init'")
    train.add_argument("--corpus", required=True, nargs="+", type=Path, metavar="PATH")
    train.add_argument("--out", required=True, type=Path, metavar="DIR")
    _add_settings_flags(train, TrainSettings(), tuple(f.name for f in fields(TrainSettings)), preset=False)
    train.set_defaults(run=_run_train)


def _add_propagate(stages: argparse._SubParsersAction) -> None:
    prop = stages.add_parser("propagate", help="carry the adapted embeddings into the instruct model")
    prop.add_argument("--mode", required=True, choices=MODES)
    prop.add_argument("--base", required=True, type=Path, metavar="DIR", help="the original base model (dir or hub id)")
    prop.add_argument(
        "--adapted", required=True, type=Path, metavar="DIR", help="the adapted base (after 'adapt train')"
    )
    prop.add_argument(
        "--instruct", required=True, type=Path, metavar="DIR", help="the original instruct model (dir or hub id)"
    )
    prop.add_argument("--out", required=True, type=Path, metavar="DIR")
    prop.add_argument("--no-check", action="store_true", help="skip the argmax-agreement check (it loads both models)")
    prop.add_argument("--overwrite", action="store_true")
    prop.set_defaults(run=_run_propagate)


def _add_calibrate(stages: argparse._SubParsersAction) -> None:
    calibrate = stages.add_parser("calibrate", help="LoRA calibration of a propagated model (self or sft), merged")
    calibrate.add_argument("--model", required=True, type=Path, metavar="DIR", help="the propagated model")
    calibrate.add_argument("--mode", required=True, choices=sorted(PRESETS))
    calibrate.add_argument(
        "--data",
        required=True,
        type=Path,
        metavar="PATH",
        help="sft: chat jsonl or hub id (online); self: prompts (.txt/.json/.jsonl)",
    )
    calibrate.add_argument(
        "--instruct", type=Path, metavar="DIR", help="self: the ORIGINAL instruct model that answers (dir or hub id)"
    )
    calibrate.add_argument(
        "--judge", type=Path, metavar="DIR", help="self: a model that grades answers 1-5 (dir or hub id)"
    )
    calibrate.add_argument("--min-grade", type=int, default=4)
    calibrate.add_argument("--max-new-tokens", type=int, default=512)
    calibrate.add_argument("--copy-corpus", nargs="+", type=Path, default=[], metavar="PATH")
    calibrate.add_argument("--copy-examples", type=int, default=0, metavar="N", help="paper: 10000 (self), 2000 (sft)")
    _add_settings_flags(calibrate, PRESETS["sft"], CALIBRATION_FIELDS, preset=True)
    calibrate.add_argument("--out", required=True, type=Path, metavar="DIR")
    calibrate.add_argument("--overwrite", action="store_true")
    calibrate.set_defaults(run=_run_calibrate)


def _add_check(stages: argparse._SubParsersAction) -> None:
    check = stages.add_parser(
        "check",
        help="does an adapted model still read Russian: copy rate, bits/char, new-token share, log-prob gap",
        description="Reads the original model and each adapted one on the same held-out sentences (FLORES devtest "
        "from --data-dir, or --held-out files) and writes check.md, check.json and check.png to --out; a killed "
        "check resumes with the models it finished.",
    )
    check.add_argument("--original", required=True, type=Path, metavar="DIR", help="the model before adaptation")
    check.add_argument(
        "--model", required=True, nargs="+", type=_named_path, metavar="NAME=DIR", help="adapted models to check"
    )
    check.add_argument("--data-dir", type=Path, metavar="DIR", help="the offline data folder (or LEP_DATA_DIR)")
    check.add_argument(
        "--held-out", nargs="+", type=_named_path, default=[], metavar="LANG=FILE", help="ru/en sentences, one a line"
    )
    check.add_argument("--sentences", type=int, default=100, metavar="N", help="scored per language (default: 100)")
    check.add_argument("--shots", type=int, default=3, metavar="N", help="copy examples in the prompt (default: 3)")
    check.add_argument(
        "--max-chars",
        type=int,
        default=MAX_CHARS,
        metavar="N",
        help=f"leave out sentences longer than N characters (default: {MAX_CHARS}; shorter ones let a small "
        "original model copy more)",
    )
    check.add_argument("--out", required=True, type=Path, metavar="DIR")
    check.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace, console: Console) -> int:
    if args.sentences < 1 or args.shots < 0 or args.max_chars < 1:
        raise LepError("--sentences and --max-chars must be at least 1 and --shots at least 0")
    from harness.adapt_check.check import check_models
    from harness.adapt_check.held_out import held_out_files, read_held_out

    data_dir = args.data_dir or (Path(os.environ["LEP_DATA_DIR"]) if os.environ.get("LEP_DATA_DIR") else None)
    files = held_out_files(data_dir, dict(args.held_out))
    held = read_held_out(files, args.shots, args.sentences, args.max_chars)
    from harness.report.paths import anchors, portable

    labels = anchors([], [str(data_dir) if data_dir else None])  # <data>/… and cwd-relative: no machine's paths
    source = portable(", ".join(f"{lang} {Path(path).resolve()}" for lang, path in files.items()), labels)
    report = check_models(_local(args.original), dict(args.model), held, args.out, source, _say(console))
    console.print(Path(report).read_text(encoding="utf-8"), markup=False, highlight=False)
    return _done(console, args.out)


def _done(console: Console, out: Path) -> int:
    console.print(f"Wrote {out}")
    return 0


def _local(model: Path) -> Path:
    """A model argument as a local dir: a hub id's snapshot in the Hugging Face cache, any path as it is."""
    from lep.hub_models import local_path

    return Path(local_path(model))


def _run_init(args: argparse.Namespace, console: Console) -> int:
    from lep.embedding_init import initialise

    settings = InitSettings(recipe=args.recipe, output_recipe=args.output_recipe, untie=args.untie)
    model = _local(args.model)
    return _done(
        console, initialise(model, args.tokenizer, args.out, args.original_tokenizer, args.overwrite, settings)
    )


def _run_train(args: argparse.Namespace, console: Console) -> int:
    settings = TrainSettings(**{f.name: getattr(args, f.name) for f in fields(TrainSettings)})
    check_settings(settings, int(os.environ.get("WORLD_SIZE", "1")))  # a bad number stops before torch is imported
    from lep.embedding_training import train_embeddings

    out = train_embeddings(args.model, args.corpus, args.out, settings)
    return _done(console, out) if os.environ.get("RANK", "0") == "0" else 0


def _run_pipeline(args: argparse.Namespace, console: Console) -> int:
    from harness.serving.self_calibration import served_answerer
    from lep.pipeline import run_pipeline

    run_pipeline(args.config, _say(console), partial(served_answerer, progress=_say(console)))
    return 0


def _run_calibrate(args: argparse.Namespace, console: Console) -> int:
    from harness.serving.self_calibration import served_answerer
    from lep.calibration import run_calibration
    from lep.stage_settings import CalibrationRequest
    from lep.validation import check_fields

    given = {name: getattr(args, name) for name in (*CalibrationRequest.model_fields, *CALIBRATION_FIELDS)}
    given |= {model: _local(given[model]) for model in ("instruct", "judge") if given[model] is not None}
    request = check_fields(CalibrationRequest, given, "adapt calibrate")
    answerer = partial(served_answerer, progress=_say(console))
    return _done(console, run_calibration(args.model, args.out, request, answerer, args.overwrite))


def _run_propagate(args: argparse.Namespace, console: Console) -> int:
    from lep.propagation import propagate

    base, instruct = _local(args.base), _local(args.instruct)
    report = propagate(
        args.mode, base, args.adapted, instruct, args.out, check=not args.no_check, overwrite=args.overwrite
    )
    for name, fit in report.fits.items():
        console.print(f"{name} embeddings: relative residual {fit['relative_residual']:.3e} over {fit['rows']} rows")
    if report.argmax_agreement is not None:
        console.print(
            f"next-token argmax agreement with the instruct model: {report.argmax_agreement:.0%} of "
            f"{report.prompts_checked} English prompts"
        )
    if report.copied_special_tokens:
        console.print(f"instruct-only tokens copied: {', '.join(report.copied_special_tokens)}")
    return _done(console, args.out)


# --- lep-bench run, import, speed --------------------------------------------------------------------------


def _add_run(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("run", help="evaluate one model on one suite through lm-eval (resumable)")
    parser.add_argument(
        "--model",
        required=True,
        metavar="SPEC",
        help="a model dir, a named model, a hub id org/name[@revision] (from the Hugging Face cache; docs/cli.md), "
        "or path=DIR,name=N,kind=base|instruct,tokenizer=T,chat_template=F,dtype=D,max_length=L",
    )
    parser.add_argument("--suite", required=True, choices=sorted(SUITES))
    parser.add_argument(
        "--backend",
        choices=("auto", *BACKENDS),
        default=DEFAULT_BACKEND,
        help="auto: vllm-server for models past the measured crossover (docs/backends.md), else hf",
    )
    parser.add_argument("--tasks", nargs="+", default=[], metavar="TASK", help="a subset of the suite's tasks")
    parser.add_argument("--limit", type=int, help="score only the first N items of each task (smoke runs)")
    parser.add_argument("--shots", type=int, help="few-shot examples (default: 5 for base models, 0 for instruct)")
    parser.add_argument(
        "--choice-shots",
        type=int,
        help="few-shot examples of the choice tasks (scored by option log-probabilities; default: as --shots)",
    )
    parser.add_argument("--generation", choices=sorted(GENERATION_PRESETS), default="greedy")
    parser.add_argument(
        "--scoring",
        choices=SCORING_PROFILES,
        help="authors: llmtf's formulas as they produced the published rows (darumeru's default); "
        "strict: copy tasks also require the content (ru-open's default). docs/tasks.md: scoring profiles",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--port", type=int, help="vllm-server: serve on this port (default: a free one)")
    parser.add_argument(
        "--enforce-eager",
        action="store_true",
        help="vllm, vllm-server: no torch.compile (starts faster, runs slower: for short runs; docs/backends.md)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="task data: ../shared/data for ru-open (or LEP_DATA_DIR); local Darumeru copies"
    )
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.set_defaults(run=_run_run)


def _run_run(args: argparse.Namespace, console: Console) -> int:
    from harness.run.backends import BackendSettings
    from harness.run.evaluation import PromptSettings
    from harness.run.model_spec import parse_spec, resolve_spec
    from harness.run.request import RunRequest
    from harness.run.runner import run

    request = RunRequest.for_model(
        resolve_spec(parse_spec(args.model)),
        args.suite,
        BackendSettings(
            backend=args.backend, batch_size=args.batch_size, port=args.port, enforce_eager=args.enforce_eager
        ),
        PromptSettings(
            num_fewshot=args.shots,
            choice_shots=args.choice_shots,
            generation=args.generation,
            limit=args.limit,
            scoring=args.scoring,
        ),
        args.out,
        args.data_dir,
        tuple(args.tasks),
    )
    run_dir = run(request, progress=_say(console))
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    for name, value in {**summary["tasks"], **summary["groups"]}.items():
        console.print(f"{name:32s} {value:.4f}")
    console.print(f"Wrote {run_dir}")
    return 0


def _add_import(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("import", help="convert a GGUF file (or a named model) into an ordinary HF model dir")
    parser.add_argument(
        "source", metavar="GGUF_OR_NAME", help=f"a .gguf file, or a named model: {', '.join(NAMED_MODELS)}"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output dir (default for a named model: $LEP_MODEL_CACHE/NAME, else out/models/<file stem>)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing import")
    parser.set_defaults(run=_run_import)


def _run_import(args: argparse.Namespace, console: Console) -> int:
    from harness.run.gguf_import import IMPORT_MANIFEST, import_model

    out = import_model(args.source, args.out, args.overwrite)
    manifest = json.loads((out / IMPORT_MANIFEST).read_text(encoding="utf-8"))
    console.print(
        f"Wrote {out}: {manifest['model_class']}, {manifest['parameters']:,} parameters, "
        f"{manifest['vocab_size']} tokens, "
        f"GGUF sha256 {manifest['gguf_sha256'][:16]}… ({manifest['source']})"
    )
    return 0


def _add_speed(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "speed",
        help="generation speed: exactly N tokens per request, warm-up, interleaved trials until each ratio to the "
        "reference is known to a stated precision",
    )
    parser.add_argument(
        "models",
        nargs="+",
        metavar="SPEC",
        help="model dirs or specs (as for run); the first is the reference of the ratios",
    )
    parser.add_argument("--backend", choices=("hf", "vllm-server"), default="hf")
    parser.add_argument(
        "--new-tokens", type=int, default=SpeedSettings.new_tokens, help="tokens generated per request (EOS ignored)"
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=SpeedSettings.trials,
        help="the fewest measured trials (at least 5), models interleaved; more run until --precision",
    )
    parser.add_argument(
        "--precision",
        type=float,
        default=SpeedSettings.precision,
        help="stop when every ratio's 95%% interval is within ±this fraction of the ratio (0.03: ±3%%)",
    )
    parser.add_argument(
        "--max-seconds",
        type=int,
        default=SpeedSettings.max_seconds,
        help="time cap of the measuring (warm-up and trials, with each round's loading); 0: the fewest trials only",
    )
    parser.add_argument("--warmup", type=int, default=SpeedSettings.warmup, help="warm-up rounds thrown away")
    parser.add_argument(
        "--reload",
        choices=["round", "once"],
        default=SpeedSettings.reload,
        help="load every model afresh each round (default: a loaded instance's own speed becomes noise, not bias), "
        "or once",
    )
    parser.add_argument("--batch", type=int, default=SpeedSettings.batch, help="throughput regime: requests at once")
    parser.add_argument("--prompts", type=int, default=SpeedSettings.prompts, help="prompts per language")
    parser.add_argument("--dtype", default=SpeedSettings.dtype)
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="prompts and the chars/token text from FLORES devtest here (default: the FLORES devtest lep-bench ships)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.set_defaults(run=_run_speed)


def _run_speed(args: argparse.Namespace, console: Console) -> int:
    from dataclasses import replace

    from harness.run.model_spec import parse_spec, resolve_spec
    from harness.speed.measure import load_speed, measure_speed
    from harness.speed.summary import speed_table

    settings = SpeedSettings(
        backend=args.backend,
        new_tokens=args.new_tokens,
        trials=args.trials,
        precision=args.precision,
        max_seconds=args.max_seconds,
        warmup=args.warmup,
        reload=args.reload,
        batch=args.batch,
        prompts=args.prompts,
        dtype=args.dtype,
    )
    specs = [replace(resolve_spec(parse_spec(model)), dtype=args.dtype) for model in args.models]
    if settings.backend == "hf":
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a weights bar per model per round would bury the trials' lines
    run_dir = measure_speed(specs, settings, args.out, args.data_dir, progress=_say(console))
    record = load_speed(run_dir)
    console.print(speed_table(record).to_string(index=False))
    stop = record["stopping"]
    precision = (
        f"; widest 95% interval of a ratio ±{stop['widest']:.1%}: the ±{stop['target']:.1%} target "
        + ("met" if stop["met"] else "not met within the time cap")
        if record["ratios"]
        else ""
    )
    console.print(f"{stop['trials']} trials in {stop['seconds']:.0f} s{precision}")
    for warning in record["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"Wrote {run_dir / 'speed.json'}")
    return 0


# --- lep-bench compare, gate -------------------------------------------------------------------------------


def _add_compare(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare", help="run what is missing of an experiment and write the comparison report (no input: the demo)"
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="CONFIG_OR_RUN_DIR",
        help="an experiment YAML, or finished run dirs (the first is the reference); none: the embedded demo",
    )
    parser.add_argument("--name", help="report name (default: the config's name, or 'comparison')")
    parser.add_argument("--reports", type=Path, help="reports folder (default: the config's, or reports/)")
    parser.add_argument(
        "--published", nargs="*", default=None, help="published tables to show (table1..table4 of the paper)"
    )
    parser.add_argument("--iterations", type=int, default=1000, help="bootstrap iterations")
    parser.add_argument(
        "--backend",
        choices=("auto", *BACKENDS),
        help="backend of every run (default: the experiment's, else auto: vllm-server for models past the measured "
        "crossover when vLLM is installed, else hf; docs/backends.md)",
    )
    parser.add_argument(
        "--profile",
        choices=DEMO_PROFILES,
        default=DEFAULT_PROFILE,
        help="demo: " + "; ".join(f"{name} ({profile.summary})" for name, profile in DEMO_PROFILES.items()),
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("out/demo"),
        help="demo: where its models and runs go (one folder per profile)",
    )
    parser.add_argument(
        "--gate",
        type=Path,
        metavar="BASELINE_JSON",
        help="after the report, exit 1 when any run's task or group score moved by more than --max-drop "
        "from this baseline, a baseline row or model is missing, or a tokenizer changed (for deterministic runs "
        "such as the demo)",
    )
    parser.add_argument("--max-drop", type=float, default=0.01, help="with --gate: tolerance, either direction")
    parser.add_argument("--write-baseline", type=Path, metavar="JSON", help="write the runs' scores as a gate baseline")
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="local: one run after another here (default); ray: each missing run is a Ray task (docs/sweeps.md)",
    )
    parser.add_argument(
        "--address",
        metavar="auto|ray://HOST:PORT",
        help="ray: the cluster (default: the config's, else a private one on this machine for this sweep)",
    )
    parser.add_argument(
        "--retries", type=int, metavar="N", help="ray: further attempts of a failed job (default: the config's, else 2)"
    )
    parser.set_defaults(run=_run_compare)


class _JobBoard:
    """The Ray sweep's job states as a live table, drawn from the first update to the end of the command."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None

    def update(self, states: dict[str, str]) -> None:
        table = Table(show_header=False, box=None, pad_edge=False)
        for key, state in states.items():
            table.add_row(key, state)
        if self.live is None:
            self.live = Live(table, console=self.console, refresh_per_second=4)
            self.live.start()
        self.live.update(table)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            if not self.console.is_terminal:
                self.console.line()  # rich ends a non-terminal Live without a newline


def _run_compare(args: argparse.Namespace, console: Console) -> int:
    from harness.compare import CompareOptions, compare

    options = CompareOptions(**{f.name: getattr(args, f.name) for f in fields(CompareOptions)})
    board = _JobBoard(console)
    try:
        outcome = compare(args.inputs, options, _say(console), board.update)
    finally:
        board.close()
    for report in outcome.reports:
        for warning in report.comparison.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
        console.print(report.comparison.scores.map(lambda v: f"{v:.3f}").to_string())
        console.print(f"Wrote {report.folder / 'report.md'} and {report.html}")
    for failure in outcome.incomplete.failures if outcome.incomplete else []:
        console.print(
            f"failed: {failure.model} on {failure.suite} after {failure.attempts} attempt(s): {failure.error}"
        )
        console.print(f"last lines of {failure.log}:\n{failure.log_tail}", markup=False, soft_wrap=True)
    if outcome.baseline:
        console.print(f"Wrote baseline {outcome.baseline}")
    if outcome.gated:
        for result in outcome.gate:
            _print_verdict(result, args.max_drop, console, f"{result.label} ")
        console.print("gate passed" if outcome.gate_passed else "[red]gate failed[/red]")
        if not outcome.gate_passed:
            return EXIT_GATE_FAILED
    if outcome.incomplete:
        print(f"error: {outcome.incomplete}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def _add_gate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "gate",
        help="exit 1 when a candidate run drops beyond tolerance (and noise), lacks a baseline row or "
        "model, or its tokenizer changed",
    )
    parser.add_argument("--baseline", required=True, type=Path, metavar="RUN_OR_JSON")
    parser.add_argument("--candidate", required=True, type=Path, metavar="RUN")
    parser.add_argument(
        "--max-drop",
        type=float,
        default=0.01,
        help="tolerated drop; a larger one fails when significant (Holm over the rows) or on too few items to tell",
    )
    parser.add_argument("--tasks", nargs="+", help="only these tasks / groups")
    parser.add_argument("--json", type=Path, help="also write the verdict as JSON here")
    parser.add_argument(
        "--any-change",
        action="store_true",
        help="deterministic runs: fail on a move beyond --max-drop either way (no interval)",
    )
    parser.add_argument("--iterations", type=int, default=1000)
    parser.set_defaults(run=_run_gate)


def _print_verdict(result: Any, max_drop: float, console: Console, label: str = "") -> None:
    """Each row's verdict and every problem on the console; the failures also on stderr, in one line."""
    for row in result.rows:
        mark = "[red]FAIL[/red]" if row.failed else "ok  "
        if row.delta is None:
            console.print(f"{mark} {label}{row.row:32s} {row.baseline:.4f} → missing")
            continue
        interval = "" if row.low == row.high else f" [{row.low:+.4f}, {row.high:+.4f}] n={row.n}"
        console.print(
            f"{mark} {label}{row.row:32s} {row.baseline:.4f} → {row.candidate:.4f}  Δ {row.delta:+.4f}{interval}  "
            f"{row.reason}"
        )
    for note in result.notes:
        console.print(f"[dim]note: {label}{note}[/dim]")
    failed = [f"{r.row}: {r.reason}" for r in result.rows if r.failed] + result.problems
    if failed:
        who = label.strip() or result.label
        print(f"gate failed for {who} (max drop {max_drop}): " + "; ".join(failed), file=sys.stderr)


def _run_gate(args: argparse.Namespace, console: Console) -> int:
    from harness.gate import gate

    result = gate(
        args.baseline,
        args.candidate,
        max_drop=args.max_drop,
        tasks=args.tasks,
        iterations=args.iterations,
        any_change=args.any_change,
        json_out=args.json,
    )
    _print_verdict(result, args.max_drop, console)
    if not result.passed:
        return EXIT_GATE_FAILED
    console.print(f"gate passed ({len(result.rows)} rows, max drop {args.max_drop})")
    return 0


# --- the command -------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lep-bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_tokenizers(commands)
    _add_adapt(commands)
    _add_run(commands)
    _add_import(commands)
    _add_speed(commands)
    _add_compare(commands)
    _add_gate(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from harness.serving.environment import quiet_library_logs
    from harness.serving.interruption import exit_status, stop_on_signals

    args = build_parser().parse_args(argv)
    quiet_library_logs()
    console = Console(stderr=False, highlight=False)
    run: Handler = args.run
    status = None
    with stop_on_signals() as received:
        try:
            status = run(args, console)
        except LepError as error:
            if received() is None:
                print(f"error: {error}", file=sys.stderr)
                status = EXIT_USER_ERROR
        except KeyboardInterrupt:
            pass
    if status is None or received() is not None:
        print("interrupted: finished tasks are kept; run the same command again to resume", file=sys.stderr)
        return exit_status(received() or signal.SIGINT)
    return status


if __name__ == "__main__":
    sys.exit(main())
