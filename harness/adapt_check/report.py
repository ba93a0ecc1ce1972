"""`adapt check`'s report: check.json (every figure with its interval), check.md (one table per language, the
models as rows) and check.png (copy rate and bits per character with their intervals, per model)."""

import io
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.adapt_check.summary import ITERATIONS  # noqa: E402
from lep.atomic_write import write_bytes, write_json, write_text  # noqa: E402

HEADER = (
    "| model | made by | chars/token (× original) | copies [95% CI] | of the original's [CI] (p adj.) "
    "| bits/char [CI] | Δ bits/char [CI] | new tokens: written / in text | log-prob gap, nats [CI] (aligned) |"
)


def _ci(cell: dict[str, Any], digits: int = 3) -> str:
    low, high = cell["ci"]
    return "—" if math.isnan(low) else f"[{low:.{digits}f}, {high:.{digits}f}]"


def made_by(made: dict[str, Any]) -> str:
    """How a model was made, from its manifests: recipe, output rows, untied, training, propagation."""
    if not made:
        return "original"
    recipe = made.get("recipe", "mean")
    parts = [recipe]
    if made.get("output_recipe", recipe) != recipe:
        parts.append(f"out {made['output_recipe']}")
    if made.get("untied"):
        parts.append("untied")
    if "train" in made:
        t = made["train"]
        seen = f", {t['tokens_seen']:,} tok" if t.get("tokens_seen") else ""
        parts.append(f"{t['objective']} {t['steps']} steps{seen} / {t['wall_seconds'] / 60:.0f} min")
    if "propagated" in made:
        parts.append(made["propagated"])
    return ", ".join(parts)


def _row(model: dict[str, Any], lang: str, first: bool) -> str:
    c = model["languages"][lang]
    kept = c["copy_kept"]
    ratio = c["chars_per_token"] / c["chars_per_token_original"]
    gap = c["gap"]
    return (
        f"| {model['name']} | {made_by(model['made'])} | {c['chars_per_token']:.2f} (×{ratio:.2f}) "
        f"| {c['copy']['k']}/{c['n']} {_ci(c['copy'], 2)} "
        + ("| — " if first else f"| {kept['share']:.0%} {_ci(kept, 2)} ({kept.get('p_adjusted', kept['p']):.2g}) ")
        + f"| {c['bits_per_char']['value']:.3f} {_ci(c['bits_per_char'])} "
        + ("| — " if first else f"| {c['bits_delta']['value']:+.3f} {_ci(c['bits_delta'])} ")
        + f"| {c['new_tokens']['output_share']:.0%} / {c['new_tokens']['text_share']:.0%} "
        + (
            "| — |"
            if first or not gap["occurrences"]
            else f"| {gap['mean']:+.2f} {_ci(gap, 2)} ({gap['aligned_share']:.0%}) |"
        )
    )


def markdown(models: list[dict[str, Any]], context: dict[str, Any]) -> str:
    lines = [
        "# Adapted models against the original",
        "",
        f"Machine: {context['machine']}; {context['date']}. Held-out sentences: {context['source']} "
        f"({context['shots']} copy examples, then {context['sentences']} scored per language). Copies are greedy and "
        "exact; intervals are 95%: exact binomial for a copy rate, bootstrap by sentence "
        f"({ITERATIONS} draws, expanded percentile) for the rest. p: exact McNemar against the original, "
        "Benjamini-Hochberg adjusted over every model and language.",
        "",
    ]
    for lang in models[0]["languages"]:
        lines += [f"## {lang}", "", HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
        lines += [_row(m, lang, i == 0) for i, m in enumerate(models)]
        lines.append("")
    lines += [
        "Wall time per model (its copies and log-probabilities, both languages): "
        + ", ".join(f"{m['name']} {m['seconds']:.0f} s" for m in models)
        + ".",
        "",
        "![copy rate and bits per character](check.png)",
        "",
    ]
    return "\n".join(lines)


def figure(models: list[dict[str, Any]]) -> bytes:
    langs = list(models[0]["languages"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.5 * len(models) + 2.2))
    for ax, key, label in ((axes[0], "copy", "exact copy rate"), (axes[1], "bits_per_char", "bits per character")):
        for j, lang in enumerate(langs):
            cells = [m["languages"][lang][key] for m in models]
            values = [c["rate"] if key == "copy" else c["value"] for c in cells]
            errors = [[v - c["ci"][0] for v, c in zip(values, cells)], [c["ci"][1] - v for v, c in zip(values, cells)]]
            y = [i + 0.2 * (j - 0.5) for i in range(len(models))]
            ax.errorbar(values, y, xerr=errors, fmt="o", capsize=3, label=lang)
        ax.set_yticks(range(len(models)), [m["name"] for m in models])
        ax.invert_yaxis()
        ax.set_xlabel(label + " (95% CI)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].legend(loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def write_report(out: Path, models: list[dict[str, Any]], context: dict[str, Any]) -> Path:
    write_json(out / "check.json", {"context": context, "models": models})
    write_text(out / "check.md", markdown(models, context))
    write_bytes(out / "check.png", figure(models))
    return out / "check.md"
