"""The `lep-bench` command: the only place that parses arguments.

Library errors (LepError) become one line on stderr and exit status 2; no traceback for a
user mistake.
"""

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from harness.tokenizer_bench import TokenizerBenchSpec, embedded_sample, markdown_table, measure, write_outputs
from lep.errors import LepError
from lep.reference_tokenizers import REFERENCE_TOKENIZERS
from lep.vocab_adaptation import MANIFEST, METHODS, AdaptationRequest, adapt_tokenizer

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
        help=f"reference name ({', '.join(REFERENCE_TOKENIZERS)}), HF dir, tokenizer.json, tiktoken file, "
        f"SentencePiece .model or hub id; repeat for several (default: {' '.join(DEFAULT_TOKENIZERS)})",
    )
    parser.add_argument("--corpus", action="append", type=_corpus_arg, metavar="LANG=PATH", help="file or folder; repeat")
    parser.add_argument("--parallel", nargs=2, type=Path, metavar=("PATH_RU", "PATH_EN"), help="aligned files for parity")
    parser.add_argument("--reference", metavar="NAME_OR_PATH", help="tokenizer for NSL and overlap (default: the first)")
    parser.add_argument("--out", type=Path, default=Path("out/tokenizers"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=_run_tokenizers)


def _run_tokenizers(args: argparse.Namespace, console: Console) -> int:
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
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.set_defaults(run=_run_adapt_tokenizer)


def _run_adapt_tokenizer(args: argparse.Namespace, console: Console) -> int:
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
    )
    out = adapt_tokenizer(request)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    console.print(
        f"Wrote {out}: {manifest['method']} of {manifest['base']}, {manifest['vocab_size']} tokens "
        f"(base {manifest['base_vocab_size']}), trained in {manifest['train_seconds']} s on "
        f"{manifest['corpus']['chars']:,} characters"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lep-bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_tokenizers(commands)
    _add_adapt(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=False, highlight=False)
    try:
        return args.run(args, console)
    except LepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
