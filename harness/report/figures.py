"""The report's figures as PNG bytes: scores with 95% intervals, the Δ heatmap against the first reference,
quality against Russian characters per token (a panel per row), and generation speed."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.report.comparison import Comparison  # noqa: E402
from harness.report.tables import delta_matrix, lower_is_better  # noqa: E402
from tasks_ru.suites import SUITES, TOTAL, higher_is_better  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _rows(comparison: Comparison) -> list[str]:
    """Rows to plot: the complete groups and total, or the tasks when no group is complete (a task subset)."""
    groups = [g for g in [*SUITES[comparison.suite], TOTAL[comparison.suite]] if g in comparison.scores.index]
    return groups or [
        t for t in comparison.scores.index if t not in SUITES[comparison.suite] and t != TOTAL[comparison.suite]
    ]


def _errors(comparison: Comparison, rows: list[str]) -> dict[str, np.ndarray]:
    """Asymmetric error bars (score − low, high − score) per model, for pandas' yerr."""
    out = {}
    for model in comparison.scores.columns:
        found = [comparison.intervals[model].get(r) for r in rows]
        out[model] = np.array(
            [[e.value - e.low if e else 0.0 for e in found], [e.high - e.value if e else 0.0 for e in found]]
        )
    return out


FIGURE_FILES = ("scores.png", "deltas.png", "quality_vs_efficiency.png", "speed.png")


def figures(comparison: Comparison) -> tuple[dict[str, bytes], list[str]]:
    """Scores per model with 95% intervals; Δ heatmap vs the reference; quality vs characters/token per row;
    speed. A figure with nothing to show is left out, and the second value says which and why."""
    out, left_out = {"scores.png": _scores_figure(comparison)}, []
    reference, delta, mark, counts = delta_matrix(comparison)
    if not delta.empty:
        out["deltas.png"] = _delta_heatmap(reference, delta, mark, counts, lower_is_better(comparison))
    else:
        left_out.append("Δ heatmap: left out, no candidate is compared with a reference")
    if comparison.efficiency["ru chars/token"].round(4).nunique() > 1:
        out["quality_vs_efficiency.png"] = _quality_vs_efficiency(comparison)
    else:
        left_out.append("quality vs efficiency: left out, every model reads Russian in the same tokens")
    if comparison.speed:
        out["speed.png"] = speed_figure(comparison.speed)
    else:
        left_out.append("generation speed: left out, not measured")
    return out, left_out


def _scores_figure(comparison: Comparison) -> bytes:
    rows = _rows(comparison)
    fig, ax = plt.subplots(figsize=(min(11, 4 + 0.09 * len(rows) * len(comparison.scores.columns)), 3.8))
    comparison.scores.loc[rows].plot.bar(
        ax=ax,
        rot=20 if len(rows) > 6 else 0,
        width=0.85,
        yerr=_errors(comparison, rows),
        capsize=1,
        error_kw={"elinewidth": 0.6},
    )
    suite = comparison.suite
    kind = "group" if rows[0] in SUITES[suite] or rows[0] == TOTAL[suite] else "task"
    lower = not higher_is_better(suite, rows[0])
    ax.set_ylabel("bits per character (lower is better)" if lower else "score (0-1)")
    ax.set_title(f"{suite}: {kind} scores per model (bars: 95% interval)")
    columns = len(comparison.scores.columns)
    ax.legend(title="model", fontsize=7, ncol=max(1, columns // 7), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, None if lower else 1)
    return _png(fig)


def _delta_heatmap(
    reference: str, delta: pd.DataFrame, mark: pd.DataFrame, counts: pd.Series, lower: list[str]
) -> bytes:
    """Δ as numbers; the colour says better (blue) or worse (red), so a row where lower is better is flipped."""
    fig, ax = plt.subplots(figsize=(1.6 + 0.75 * len(delta.columns), 0.9 + 0.32 * len(delta)))
    values = delta.to_numpy(dtype=float)
    better = values * np.where(delta.index.isin(lower), -1.0, 1.0)[:, None]
    limit = max(float(np.nanmax(np.abs(values))), 1e-3)
    image = ax.imshow(better, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if value == value:
            ax.text(
                j,
                i,
                f"{value:+.3f}{mark.iat[i, j]}",
                ha="center",
                va="center",
                fontsize=7,
                fontweight="bold" if mark.iat[i, j] == "*" else "normal",
                color="white" if abs(value) > 0.6 * limit else "black",
            )
    ax.set_xticks(range(len(delta.columns)), delta.columns, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(
        range(len(delta)), [f"{r}{' ↓' if r in lower else ''}  (n={counts[r]})" for r in delta.index], fontsize=8
    )
    ax.set_title(f"Δ vs {reference}  (* significant after BH; ? too few items)", fontsize=9)
    fig.colorbar(
        image, ax=ax, fraction=0.03, pad=0.02, label="Δ score (↓ rows: −Δ, lower is better)" if lower else "Δ score"
    )
    return _png(fig)


def _quality_vs_efficiency(comparison: Comparison) -> bytes:
    """One panel per plotted row (groups and total, or the tasks): score with its 95% interval against Russian
    characters per token, so the trade shows for any set of tasks."""
    rows = _rows(comparison)
    columns = min(4, len(rows))
    lines = -(-len(rows) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.6 * lines), squeeze=False)
    for ax, row in zip(axes.flat, rows):
        for model in comparison.scores.columns:
            x = float(comparison.efficiency.loc[model, "ru chars/token"])
            estimate = comparison.intervals[model].get(row)
            # the interval's own estimate: on the items every model scored, which a run's own score may not be
            y = float(estimate.value if estimate else comparison.scores.loc[row, model])
            errors = [[y - float(estimate.low)], [float(estimate.high) - y]] if estimate else None
            ax.errorbar([x], [y], yerr=errors, fmt="o", capsize=2, label=model)
        ax.set_title(row + ("" if higher_is_better(comparison.suite, row) else " (lower is better)"), fontsize=9)
        ax.margins(x=0.2, y=0.15)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(rows) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("Russian chars/token", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="model", fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 0.95))
    fig.suptitle("quality (95% interval) vs tokenizer efficiency", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def speed_figure(record: dict) -> bytes:
    """Effective Russian characters/s per model and regime: median bars, IQR whiskers, from one interleaved run."""
    models = list(record["summary"])
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.6 * len(models)))
    for offset, (regime, figure, label) in enumerate(
        (
            ("latency", "chars_per_s", "batch 1"),
            ("throughput", "total_chars_per_s", f"batch {record['settings']['batch']}"),
        )
    ):
        cells = [record["summary"][m][f"{regime}/ru"][figure] for m in models]
        medians = [c["median"] for c in cells]
        errors = [[c["median"] - c["q1"] for c in cells], [c["q3"] - c["median"] for c in cells]]
        ax.barh(
            [i + 0.4 * offset for i in range(len(models))], medians, height=0.4, xerr=errors, label=label, capsize=3
        )
    ax.set_yticks([i + 0.2 for i in range(len(models))], models)
    ax.set_xlabel(
        f"Russian characters per second ({record['settings']['new_tokens']} tokens per request, median and IQR)"
    )
    ax.set_title(f"generation speed ({record['settings']['backend']}, {record['machine']['cpu_count']} CPUs)")
    ax.legend(fontsize=8)
    return _png(fig)
