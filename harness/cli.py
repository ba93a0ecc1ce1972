"""The `lep-bench` command: the only place that parses arguments; each command calls library functions.

Library errors (LepError) become one line on stderr and exit status 2; no traceback for a
user mistake. The parser needs only light modules; a command imports what it runs (torch,
transformers, lm-eval), so `lep-bench --help` answers at once.
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from rich.console import Console

from harness.backends import BACKENDS, DEFAULT_BACKEND
from harness.demo_profiles import DEFAULT_PROFILE
from harness.demo_profiles import PROFILES as DEMO_PROFILES
from harness.evaluation import GENERATION_PRESETS
from harness.gguf_import import NAMED_MODELS
from harness.speed import SpeedSettings
from harness.sweep import EXECUTORS, EXIT_INCOMPLETE
from lep.errors import LepError
from lep.reference_sources import REFERENCE_NAMES
from lep.stage_settings import KEEP_BY, METHODS, MODES, PRESETS, TRAINERS, TrainSettings, check_settings
from tasks_ru.suites import PROFILES, SUITES

DEFAULT_TOKENIZERS = ["llama-3", "mistral-7b", "openchat-3.5"]


def _corpus_arg(value: str) -> tuple[str, Path]:
    lang, sep, path = value.partition("=")
    if not sep or not lang or not path:
        raise argparse.ArgumentTypeError(f"expected LANG=PATH (e.g. ru=corpus/ru), got {value!r}")
    return lang, Path(path)


def _add_tokenizers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "tokenizers",
        help="measure tokenizer efficiency on Russian and English corpora",
        description="Characters/bytes per token, fertility, NSL, RU/EN parity, vocabulary overlap and "
        "encode throughput. With no --corpus it runs on a small embedded sample and says so.",
    )
    parser.add_argument(
        "--tokenizer",
        action="append",
        metavar="NAME_OR_PATH",
        help=f"reference name ({', '.join(REFERENCE_NAMES)}), HF dir, tokenizer.json, tiktoken file, "
        f"SentencePiece .model or hub id; repeat for several (default: {' '.join(DEFAULT_TOKENIZERS)})",
    )
    parser.add_argument(
        "--corpus", action="append", type=_corpus_arg, metavar="LANG=PATH", help="file or folder; repeat"
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
    from harness.tokenizer_bench import TokenizerBenchSpec, embedded_sample, markdown_table, measure, write_outputs

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
        console.print("[yellow]No --corpus given: measuring the small embedded sample (a first look, not a benchmark).")
    spec.reference = args.reference or tokenizers[0]
    reports = measure(spec)
    write_outputs(reports, spec, args.out)
    console.print(markdown_table(reports, spec), soft_wrap=True, markup=False)
    console.print(f"Wrote {args.out}/metrics.json, tokenizers.md and chars_per_token.png")
    return 0


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
    parser.add_argument("--base", required=True, metavar="NAME_OR_PATH", help="reference name or tokenizer path")
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
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.set_defaults(run=_run_adapt_tokenizer)
    _add_adapt_stages(stages)


def _run_adapt_tokenizer(args: argparse.Namespace, console: Console) -> int:
    from lep.vocab_adaptation import MANIFEST, AdaptationRequest, adapt_tokenizer

    request = AdaptationRequest(
        base=args.base,
        method=args.method,
        corpus=args.corpus,
        out=args.out,
        vocab_size=args.vocab_size,
        new_vocab_size=args.new_vocab_size,
        keep=args.keep,
        max_chars=args.max_chars,
        overwrite=args.overwrite,
        trainer=args.trainer,
        keep_by=args.keep_by,
        ignore_merges=args.ignore_merges,
    )
    out = adapt_tokenizer(request)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    console.print(
        f"Wrote {out}: {manifest['method']} of {manifest['base']}, {manifest['vocab_size']} tokens "
        f"(base {manifest['base_vocab_size']}), trained in {manifest['train_seconds']} s on "
        f"{manifest['corpus']['chars']:,} characters"
    )
    return 0


def _add_adapt_stages(stages: argparse._SubParsersAction) -> None:
    init = stages.add_parser("init", help="resize a model to a new tokenizer; new rows = mean of old sub-token rows")
    init.add_argument("--model", required=True, type=Path, metavar="DIR", help="HF model dir (safetensors)")
    init.add_argument(
        "--tokenizer", required=True, type=Path, metavar="DIR", help="new tokenizer (from 'adapt tokenizer')"
    )
    init.add_argument(
        "--original-tokenizer", metavar="NAME_OR_PATH", help="the model's tokenizer (default: the model dir's)"
    )
    init.add_argument("--out", required=True, type=Path, metavar="DIR")
    init.add_argument("--overwrite", action="store_true")
    init.set_defaults(run=_run_init)

    train = stages.add_parser("train", help="embeddings-only continued pre-training (transformers Trainer)")
    train.add_argument("--model", required=True, type=Path, metavar="DIR", help="model from 'adapt init'")
    train.add_argument("--corpus", required=True, nargs="+", type=Path, metavar="PATH")
    train.add_argument("--out", required=True, type=Path, metavar="DIR")
    defaults = TrainSettings()
    for name, value in vars(defaults).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            train.add_argument(flag, action="store_true", help=f"(default: {value})")
        else:
            kind = float if isinstance(value, float) else str if isinstance(value, str) else int
            train.add_argument(
                flag, type=kind, default=value, metavar="NAME" if kind is str else "N", help=f"(default: {value})"
            )
    train.set_defaults(run=_run_train)

    prop = stages.add_parser("propagate", help="carry the adapted embeddings into the instruct model")
    prop.add_argument("--mode", required=True, choices=MODES)
    prop.add_argument("--base", required=True, type=Path, metavar="DIR", help="the original base model")
    prop.add_argument(
        "--adapted", required=True, type=Path, metavar="DIR", help="the adapted base (after 'adapt train')"
    )
    prop.add_argument("--instruct", required=True, type=Path, metavar="DIR", help="the original instruct model")
    prop.add_argument("--out", required=True, type=Path, metavar="DIR")
    prop.add_argument("--no-check", action="store_true", help="skip the argmax-agreement check (it loads both models)")
    prop.add_argument("--overwrite", action="store_true")
    prop.set_defaults(run=_run_propagate)

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
        "--instruct", type=Path, metavar="DIR", help="self: the ORIGINAL instruct model that answers"
    )
    calibrate.add_argument("--judge", type=Path, metavar="DIR", help="self: a model that grades answers 1-5")
    calibrate.add_argument("--min-grade", type=int, default=4)
    calibrate.add_argument("--max-new-tokens", type=int, default=512)
    calibrate.add_argument("--copy-corpus", nargs="+", type=Path, default=[], metavar="PATH")
    calibrate.add_argument("--copy-examples", type=int, default=0, metavar="N", help="paper: 10000 (self), 2000 (sft)")
    for name in (
        "rank",
        "alpha",
        "learning_rate",
        "weight_decay",
        "epochs",
        "max_length",
        "per_device_batch",
        "global_batch",
        "max_steps",
    ):
        calibrate.add_argument(
            "--" + name.replace("_", "-"),
            type=float if name in ("alpha", "learning_rate", "weight_decay", "epochs") else int,
            metavar="N",
            help="(default: the mode's preset)",
        )
    calibrate.add_argument("--out", required=True, type=Path, metavar="DIR")
    calibrate.add_argument("--overwrite", action="store_true")
    calibrate.set_defaults(run=_run_calibrate)

    pipeline = stages.add_parser("pipeline", help="run every stage of a YAML config, skipping finished ones")
    pipeline.add_argument("config", type=Path)
    pipeline.set_defaults(run=_run_pipeline)


def _done(console: Console, out: Path) -> int:
    console.print(f"Wrote {out}")
    return 0


def _run_init(args: argparse.Namespace, console: Console) -> int:
    from lep.embedding_init import initialise

    return _done(console, initialise(args.model, args.tokenizer, args.out, args.original_tokenizer, args.overwrite))


def _run_train(args: argparse.Namespace, console: Console) -> int:
    settings = TrainSettings(**{name: getattr(args, name) for name in vars(TrainSettings())})
    check_settings(settings, int(os.environ.get("WORLD_SIZE", "1")))  # a bad number stops before torch is imported
    from lep.embedding_training import train_embeddings

    out = train_embeddings(args.model, args.corpus, args.out, settings)
    return _done(console, out) if os.environ.get("RANK", "0") == "0" else 0


def _run_pipeline(args: argparse.Namespace, console: Console) -> int:
    from harness.self_calibration import served_answerer
    from lep.pipeline import run_pipeline

    run_pipeline(args.config, console, served_answerer)
    return 0


def _run_calibrate(args: argparse.Namespace, console: Console) -> int:
    from harness.self_calibration import served_answerer
    from lep.calibration import calibrate
    from lep.calibration_data import calibration_examples
    from lep.stage_settings import calibration_preset
    from lep.staging import check_free

    settings = calibration_preset(args.mode, {name: getattr(args, name, None) for name in vars(PRESETS[args.mode])})
    check_free(args.out, args.overwrite)
    answer = None
    if args.mode == "self":
        if args.instruct is None:
            raise LepError("--mode self needs --instruct: the original instruct model answers the prompts")
        answer = served_answerer(args.instruct, args.judge, args.min_grade, args.max_new_tokens)
    examples, record = calibration_examples(args.mode, args.data, args.copy_corpus, args.copy_examples, answer)
    return _done(console, calibrate(args.model, examples, args.out, settings, record, args.overwrite))


def _run_propagate(args: argparse.Namespace, console: Console) -> int:
    from lep.propagation import propagate

    report = propagate(
        args.mode, args.base, args.adapted, args.instruct, args.out, check=not args.no_check, overwrite=args.overwrite
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


def _add_run(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("run", help="evaluate one model on one suite through lm-eval (resumable)")
    parser.add_argument(
        "--model",
        required=True,
        metavar="SPEC",
        help="a model dir, or path=DIR,name=N,kind=base|instruct,tokenizer=T,chat_template=F,dtype=D,max_length=L",
    )
    parser.add_argument("--suite", required=True, choices=sorted(SUITES))
    parser.add_argument(
        "--backend",
        choices=("auto", *BACKENDS),
        default=DEFAULT_BACKEND,
        help="auto: vllm-server for models past the measured crossover (README: backend choice), else hf",
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
        choices=PROFILES,
        help="authors: llmtf's formulas as they produced the published rows (darumeru's default); "
        "strict: copy tasks also require the content (ru-open's default). README: scoring profiles",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--port", type=int, help="vllm-server: serve on this port (default: a free one)")
    parser.add_argument(
        "--enforce-eager",
        action="store_true",
        help="vllm, vllm-server: no torch.compile (starts faster, runs slower: for short runs; README: backend choice)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="task data: ../shared/data for ru-open (or LEP_DATA_DIR); local Darumeru copies"
    )
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.set_defaults(run=_run_run)


def _run_run(args: argparse.Namespace, console: Console) -> int:
    from harness.backends import BackendSettings, resolve_backend
    from harness.evaluation import PromptSettings
    from harness.model_spec import parse_spec
    from harness.runner import RunRequest, run

    spec = parse_spec(args.model)
    request = RunRequest(
        spec=spec,
        suite=args.suite,
        tasks=tuple(args.tasks),
        out=args.out,
        data_dir=args.data_dir,
        backend=BackendSettings(
            backend=resolve_backend(args.backend, spec),
            batch_size=args.batch_size,
            port=args.port,
            enforce_eager=args.enforce_eager,
        ),
        prompts=PromptSettings(
            kind=spec.kind,
            num_fewshot=args.shots,
            choice_shots=args.choice_shots,
            generation=args.generation,
            limit=args.limit,
            scoring=args.scoring,
        ),
    )
    run_dir = run(request, progress=lambda line: console.print(f"[dim]{line}[/dim]"))
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
    from harness.gguf_import import import_gguf, named_model_dir

    if args.source in NAMED_MODELS and not args.out:
        out = named_model_dir(args.source)
    elif args.source in NAMED_MODELS:
        model = NAMED_MODELS[args.source]
        out = import_gguf(model.gguf_path(), args.out, source=model.source(), overwrite=args.overwrite)
    else:
        out = import_gguf(
            Path(args.source), args.out or Path("out/models") / Path(args.source).stem, overwrite=args.overwrite
        )
    manifest = json.loads((out / "lep_import.json").read_text(encoding="utf-8"))
    console.print(
        f"Wrote {out}: {manifest['model_class']}, {manifest['parameters']:,} parameters, "
        f"{manifest['vocab_size']} tokens, "
        f"GGUF sha256 {manifest['gguf_sha256'][:16]}… ({manifest['source']})"
    )
    return 0


def _add_speed(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "speed", help="generation speed: exactly N tokens per request, warm-up, interleaved trials, median and IQR"
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
        "--trials", type=int, default=SpeedSettings.trials, help="measured trials (at least 5), models interleaved"
    )
    parser.add_argument("--warmup", type=int, default=SpeedSettings.warmup, help="warm-up rounds thrown away")
    parser.add_argument("--batch", type=int, default=SpeedSettings.batch, help="throughput regime: requests at once")
    parser.add_argument("--prompts", type=int, default=SpeedSettings.prompts, help="prompts per language")
    parser.add_argument("--dtype", default=SpeedSettings.dtype)
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="prompts and the chars/token text from FLORES devtest here (default: the embedded sample)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.set_defaults(run=_run_speed)


def _run_speed(args: argparse.Namespace, console: Console) -> int:
    from dataclasses import replace

    from harness.model_spec import parse_spec
    from harness.speed import load_speed, measure_speed, speed_table

    settings = SpeedSettings(
        backend=args.backend,
        new_tokens=args.new_tokens,
        trials=args.trials,
        warmup=args.warmup,
        batch=args.batch,
        prompts=args.prompts,
        dtype=args.dtype,
    )
    run_dir = measure_speed(
        [replace(parse_spec(m), dtype=args.dtype) for m in args.models],
        settings,
        args.out,
        args.data_dir,
        progress=lambda line: console.print(f"[dim]{line}[/dim]"),
    )
    record = load_speed(run_dir)
    console.print(speed_table(record).to_string(index=False))
    for warning in record["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"Wrote {run_dir / 'speed.json'}")
    return 0


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
        help="demo: backend (default: vllm-server when vLLM is installed, else hf)",
    )
    parser.add_argument(
        "--profile",
        choices=DEMO_PROFILES,
        default=DEFAULT_PROFILE,
        help="demo: smollm2 (the real model, minutes), smollm2-long (100x the training tokens: a GPU, or "
        "hours of CPU), synthetic (demo-scale base/instruct pair, all propagation modes)",
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
        help="local: one run after another here (default); ray: each missing run is a Ray task (README: "
        "sweeps on a Ray cluster)",
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


def _run_compare(args: argparse.Namespace, console: Console) -> int:
    from harness.compare import build_comparison, check_report_options
    from harness.comparison_inputs import SweepOptions, comparison_inputs
    from harness.gate import write_baseline
    from harness.gate_verdicts import gate_experiment
    from harness.report import write_report

    check_report_options(args.name, args.reports, args.published, args.iterations, args.max_drop, args.gate)
    compared = comparison_inputs(
        args.inputs,
        SweepOptions(args.backend, args.executor, args.address, args.retries),
        {"workdir": args.workdir, "reports": args.reports or Path("reports"), "profile": args.profile},
        console,
        progress=lambda line: console.print(f"[dim]{line}[/dim]"),
    )
    name, reports = args.name or compared.name, args.reports or compared.reports
    published = compared.published if args.published is None else args.published
    by_suite = compared.by_suite()
    failures = compared.incomplete.failures if compared.incomplete else []
    for suite, suite_runs in by_suite.items():
        out = reports / name if len(by_suite) == 1 else reports / name / suite
        comparison = build_comparison(
            name, suite_runs, published=published, iterations=args.iterations, note=compared.note, speed=compared.speed
        )
        comparison.warnings += [f.report_line() for f in failures if f.suite == suite]
        html = write_report(comparison, out)
        for warning in comparison.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
        console.print(comparison.scores.map(lambda v: f"{v:.3f}").to_string())
        console.print(f"Wrote {out / 'report.md'} and {html}")
    run_dirs = [r for r, _ in compared.runs]
    if args.write_baseline:
        write_baseline(args.write_baseline, run_dirs)
        console.print(f"Wrote baseline {args.write_baseline}")
    if args.gate and not gate_experiment(run_dirs, args.gate, args.max_drop, args.iterations, console):
        return 1
    if compared.incomplete:
        print(f"error: {compared.incomplete}", file=sys.stderr)
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


def _run_gate(args: argparse.Namespace, console: Console) -> int:
    from harness.gate import gate, verdict_json
    from harness.gate_verdicts import print_verdict
    from lep.atomic_write import write_json

    result = gate(
        args.baseline,
        args.candidate,
        max_drop=args.max_drop,
        tasks=args.tasks,
        iterations=args.iterations,
        any_change=args.any_change,
    )
    if args.json:
        write_json(args.json, verdict_json([result], args.max_drop))
    if not print_verdict(result, args.max_drop, console):
        return 1
    console.print(f"gate passed ({len(result.rows)} rows, max drop {args.max_drop})")
    return 0


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
    from harness.interruption import exit_status, stop_on_signals

    args = build_parser().parse_args(argv)
    console = Console(stderr=False, highlight=False)
    status = None
    with stop_on_signals() as received:
        try:
            status = args.run(args, console)
        except LepError as error:
            if received() is None:
                print(f"error: {error}", file=sys.stderr)
                status = 2
        except KeyboardInterrupt:
            pass
    if status is None or received() is not None:
        print("interrupted: finished tasks are kept; run the same command again to resume", file=sys.stderr)
        return exit_status(received() or signal.SIGINT)
    return status


if __name__ == "__main__":
    sys.exit(main())
