"""`lep-bench tokenizers`: measure several tokenizers on the same corpora and write the results.

Output folder: metrics.json (every count and ratio), tokenizers.md (the table people read)
and chars_per_token.png (the chart).
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.shipped_text import held_out  # noqa: E402
from harness.tokenizers.fast_encoding import batch_encoder  # noqa: E402
from harness.tokenizers.metrics import (  # noqa: E402
    TokenizerReport,
    count_corpus,
    normalised_sequence_length,
    vocabulary_overlap,
)
from lep.atomic_write import write_bytes, write_json, write_text  # noqa: E402
from lep.corpus import COMPRESSIONS, corpus_files, iter_corpus, require_text  # noqa: E402
from lep.errors import InputError  # noqa: E402
from lep.reference_tokenizers import load_tokenizer, tokenizer_label  # noqa: E402
from lep.validation import check_output_dir  # noqa: E402


@dataclass
class TokenizerBenchSpec:
    """What to measure: tokenizer specs, corpora by language, an optional parallel pair, the reference."""

    tokenizers: list[str]
    corpora: dict[str, list[Path]]
    parallel: tuple[Path, Path] | None = None
    reference: str | None = None
    embedded_sample: bool = False


# (what is being read, bytes read so far, bytes in all): how the caller shows a long measurement
Progress = Callable[[str, int, int | None], None]  # what, done, total (None: unknown)


def embedded_sample() -> TokenizerBenchSpec:
    """The held-out parallel Russian/English text shipped with lep-bench (FLORES-200 devtest), for a run with no
    corpus: real text no lep-bench tokenizer was trained on."""
    ru, en = held_out("ru"), held_out("en")
    return TokenizerBenchSpec(tokenizers=[], corpora={"ru": [ru], "en": [en]}, parallel=(ru, en), embedded_sample=True)


def _corpus_bytes(paths: list[Path]) -> int | None:
    """The text's size for a progress bar; None (no total) where a file is compressed, whose size on disk is not."""
    files = [f for p in paths for f in corpus_files(p)]
    return None if any(f.suffix.lower() in COMPRESSIONS for f in files) else sum(f.stat().st_size for f in files)


def _parity(tokenizer, parallel: tuple[Path, Path], encoder) -> float:
    ru = count_corpus(tokenizer, iter_corpus([parallel[0]]), encoder=encoder)
    en = count_corpus(tokenizer, iter_corpus([parallel[1]]), encoder=encoder)
    if ru.units != en.units:
        raise InputError(
            f"parallel files are not aligned: {parallel[0]} has {ru.units} non-empty lines, {parallel[1]} {en.units}"
        )
    return ru.tokens / en.tokens if en.tokens else 0.0


def measure(spec: TokenizerBenchSpec, progress: Progress = lambda *_: None) -> list[TokenizerReport]:
    """Load every tokenizer first (so a bad name fails fast), then stream each corpus through each."""
    for paths in spec.corpora.values():
        require_text(paths)
    names = list(dict.fromkeys(spec.tokenizers + ([spec.reference] if spec.reference else [])))
    tokenizers = {name: load_tokenizer(name) for name in names}
    reports: dict[str, TokenizerReport] = {}
    for name, tokenizer in tokenizers.items():
        report = TokenizerReport(name=tokenizer_label(name), vocab_size=len(tokenizer))
        encoder = batch_encoder(tokenizer)
        for lang, paths in spec.corpora.items():
            what, total, done = f"{report.name} {lang}", _corpus_bytes(paths), 0

            def advance(read: int, what: str = what, total: int | None = total) -> None:
                nonlocal done
                done += read
                progress(what, done, total)

            report.languages[lang] = count_corpus(tokenizer, iter_corpus(paths), on_batch=advance, encoder=encoder)
        if spec.parallel:
            report.parity_ru_en = _parity(tokenizer, spec.parallel, encoder)
        reports[name] = report
    if spec.reference:
        reference = reports[spec.reference]
        for name, report in reports.items():
            report.nsl = normalised_sequence_length(report, reference)
            report.overlap = vocabulary_overlap(tokenizers[name], tokenizers[spec.reference])
    return [reports[name] for name in names]


def markdown_table(reports: list[TokenizerReport], spec: TokenizerBenchSpec) -> str:
    header = (
        "| tokenizer | vocab | lang | chars/token | bytes/token | tokens/word | words in ≤2 tokens "
        "| NSL vs ref | unknown/byte-fallback | encode MB/s |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for report in reports:
        for lang, c in report.languages.items():
            nsl = f"{report.nsl[lang]:.3f}" if lang in report.nsl else "–"
            rows.append(
                f"| {report.name} | {report.vocab_size} | {lang} | {c.chars_per_token:.3f} | {c.bytes_per_token:.3f} "
                f"| {c.fertility:.3f} | {c.share_words_in_two:.3f} | {nsl} | {c.unknown_rate:.4f} "
                f"| {c.mb_per_second:.2f} |"
            )
    lines = [header + "\n".join(rows)]
    if spec.parallel:
        lines.append(
            "\nRU/EN token parity on the parallel set (tokens of the Russian side / tokens of the English side):\n"
        )
        lines += [f"- {r.name}: {r.parity_ru_en:.3f}" for r in reports]
    if spec.reference:
        lines.append(f"\nReference for NSL and vocabulary overlap: {tokenizer_label(spec.reference)}.\n")
        lines += [
            f"- {r.name}: {r.overlap['shared_entries']} entries shared ({r.overlap['share_of_own']:.1%} of its own)"
            for r in reports
            if r.overlap
        ]
    corpora = "; ".join(f"{lang}: {', '.join(str(p) for p in paths)}" for lang, paths in spec.corpora.items())
    source = (
        "FLORES-200 devtest as shipped with lep-bench (1,012 sentences a language, harness/shipped_text)"
        if spec.embedded_sample
        else corpora
    )
    return f"# Tokenizer efficiency\n\nCorpora: {source}.\n\n" + "\n".join(lines) + "\n"


def chart_png(reports: list[TokenizerReport]) -> bytes:
    """Grouped bars of characters per token, one group per language."""
    languages = list(dict.fromkeys(lang for r in reports for lang in r.languages))
    figure, axis = plt.subplots(figsize=(max(5, 1.6 * len(reports) * len(languages)), 4))
    width = 0.8 / max(1, len(reports))
    for i, report in enumerate(reports):
        values = [report.languages[lang].chars_per_token if lang in report.languages else 0 for lang in languages]
        bars = axis.bar([x + i * width for x in range(len(languages))], values, width, label=report.name)
        axis.bar_label(bars, fmt="%.2f", fontsize=8)
    axis.set_xticks([x + width * (len(reports) - 1) / 2 for x in range(len(languages))], languages)
    axis.set_ylabel("characters per token (higher is better)")
    axis.set_title("Tokenizer efficiency")
    axis.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return buffer.getvalue()


def benchmark_tokenizers(
    spec: TokenizerBenchSpec, out: Path, progress: Progress = lambda *_: None
) -> list[TokenizerReport]:
    """`lep-bench tokenizers`: check `out` can be written, measure, write metrics.json, tokenizers.md and the chart."""
    check_output_dir(out)
    reports = measure(spec, progress)
    write_outputs(reports, spec, out)
    return reports


def write_outputs(reports: list[TokenizerReport], spec: TokenizerBenchSpec, out: Path) -> None:
    write_json(
        out / "metrics.json",
        {
            "corpora": {lang: [str(p) for p in paths] for lang, paths in spec.corpora.items()},
            "parallel": [str(p) for p in spec.parallel] if spec.parallel else None,
            "reference": tokenizer_label(spec.reference) if spec.reference else None,
            "embedded_sample": spec.embedded_sample,
            "tokenizers": [r.to_json() for r in reports],
        },
    )
    write_text(out / "tokenizers.md", markdown_table(reports, spec))
    write_bytes(out / "chars_per_token.png", chart_png(reports))
