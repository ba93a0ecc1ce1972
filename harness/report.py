"""A comparison written out: reports/<name>/report.md, index.html (one self-contained file), deltas.csv
(every comparison: Δ, interval, n, raw and BH-adjusted p) and PNGs. At many models the Δ heatmap
(task × model vs the first reference) is the view; the full Δ table is collapsed or in the CSV.

The HTML is rendered by jinja2 with autoescaping on: model outputs and dataset text may contain
HTML, and none of it may be interpreted. Figures are embedded as base64 PNGs.
"""

import base64
import io
import json
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.bootstrap import MIN_UNITS  # noqa: E402
from harness.compare import PUBLISHED_CITATION, Comparison  # noqa: E402
from harness.speed import speed_table  # noqa: E402
from lep.atomic_write import write_bytes, write_text  # noqa: E402
from tasks_ru.suites import SUITES, TOTAL  # noqa: E402

TEMPLATE = Path(__file__).with_name("report_template.html")  # jinja2, autoescaped


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _rows(c: Comparison) -> list[str]:
    """Rows to plot: the complete groups and total, or the tasks when no group is complete (a task subset)."""
    groups = [g for g in [*SUITES[c.suite], TOTAL[c.suite]] if g in c.scores.index]
    return groups or [t for t in c.scores.index if t not in SUITES[c.suite] and t != TOTAL[c.suite]]


def _errors(c: Comparison, rows: list[str]) -> dict[str, np.ndarray]:
    """Asymmetric error bars (score − low, high − score) per model, for pandas' yerr."""
    out = {}
    for model in c.scores.columns:
        found = [c.intervals[model].get(r) for r in rows]
        out[model] = np.array(
            [[e.value - e.low if e else 0.0 for e in found], [e.high - e.value if e else 0.0 for e in found]]
        )
    return out


def delta_matrix(c: Comparison) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.Series]:
    """(reference, Δ, mark, n) as row × model frames against the first reference; mark: '*' significant,
    '?' too few items; n: each row's resampling units."""
    if not c.deltas:
        return "", pd.DataFrame(), pd.DataFrame(), pd.Series(dtype=int)
    reference = next(iter(c.deltas))[1]
    pairs = {m: d for (m, ref), d in c.deltas.items() if ref == reference}
    rows = [r for r in c.scores.index if any(r in d for d in pairs.values())]
    delta = pd.DataFrame({m: {r: d[r].delta for r in rows if r in d} for m, d in pairs.items()}).reindex(rows)
    mark = pd.DataFrame(
        {
            m: {r: "*" if d[r].significant else "?" if d[r].too_few else "" for r in rows if r in d}
            for m, d in pairs.items()
        }
    ).reindex(rows)
    counts = pd.Series({r: next(d[r].n for d in pairs.values() if r in d) for r in rows})
    return reference, delta, mark, counts


def figures(c: Comparison) -> dict[str, bytes]:
    """Scores per model with 95% intervals; Δ heatmap vs the reference; quality vs characters/token; speed."""
    rows = _rows(c)
    fig, ax = plt.subplots(figsize=(min(11, 4 + 0.09 * len(rows) * len(c.scores.columns)), 3.8))
    c.scores.loc[rows].plot.bar(
        ax=ax,
        rot=20 if len(rows) > 6 else 0,
        width=0.85,
        yerr=_errors(c, rows),
        capsize=1,
        error_kw={"elinewidth": 0.6},
    )
    ax.set_ylabel("score (0-1)")
    ax.set_title(
        f"{c.suite}: {'group' if rows[0] in SUITES[c.suite] or rows[0] == TOTAL[c.suite] else 'task'} "
        "scores per model (bars: 95% interval)"
    )
    ax.legend(
        title="model", fontsize=7, ncol=max(1, len(c.scores.columns) // 7), loc="upper left", bbox_to_anchor=(1.0, 1.0)
    )
    ax.set_ylim(0, 1)
    out = {"scores.png": _png(fig)}

    reference, delta, mark, counts = delta_matrix(c)
    if not delta.empty:
        fig, ax = plt.subplots(figsize=(1.6 + 0.75 * len(delta.columns), 0.9 + 0.32 * len(delta)))
        limit = max(float(np.nanmax(np.abs(delta.to_numpy(dtype=float)))), 1e-3)
        image = ax.imshow(delta.to_numpy(dtype=float), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), value in np.ndenumerate(delta.to_numpy(dtype=float)):
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
        ax.set_yticks(range(len(delta)), [f"{r}  (n={counts[r]})" for r in delta.index], fontsize=8)
        ax.set_title(f"Δ vs {reference}  (* significant after BH; ? too few items)", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="Δ score")
        out["deltas.png"] = _png(fig)

    total = TOTAL[c.suite]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    points: dict[tuple[float, float], list[str]] = {}
    for model in c.scores.columns:
        y = c.scores.loc[total, model] if total in c.scores.index else float("nan")
        points.setdefault((round(float(c.efficiency.loc[model, "ru chars/token"]), 4), round(float(y), 4)), []).append(
            model
        )
    for (x, y), models in points.items():  # models on the same point share one label
        ax.scatter([x], [y], s=50)
        ax.annotate(", ".join(models), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.margins(x=0.25, y=0.15)
    ax.set_xlabel("Russian characters per token (embedded sample)")
    ax.set_ylabel(f"{total} score")
    ax.set_title("quality vs tokenizer efficiency")
    out["quality_vs_efficiency.png"] = _png(fig)

    if c.speed:
        out["speed.png"] = speed_figure(c.speed)
    return out


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


def speed_section(record: dict | None) -> dict:
    """What the report says about speed: the table, how it was measured, its warnings."""
    if not record:
        return {
            "table": None,
            "how": "not measured: add `speed:` to the experiment or run `lep-bench speed`",
            "warnings": [],
        }
    s = record["settings"]
    text = f"FLORES devtest under {record['data_dir']}" if record["data_dir"] else "the embedded sample"
    how = (
        f"{s['backend']}, exactly {s['new_tokens']} tokens per request, {s['warmup']} warm-up round(s) "
        f"dropped, {s['trials']} trials with the models "
        f"interleaved; median [IQR]; ratios to {record['reference']} taken within each trial; chars/s = "
        "decode tokens/s × the model's "
        f"chars/token on the Russian text ({text}); CPU {record['machine']['cpu']}, load "
        f"{record['machine']['load_before'][0]:.1f} at start"
    )
    return {"table": speed_table(record), "how": how, "warnings": record["warnings"]}


def delta_rows(c: Comparison) -> list[dict]:
    """Every comparison of the report: Δ, 95% interval, n, raw and BH-adjusted p, verdict."""
    rows = []
    for (model, ref), deltas in c.deltas.items():
        for name in c.scores.index:
            if name in deltas:
                d = deltas[name]
                verdict = (
                    "significant" if d.significant else f"too few items (n={d.n} < {MIN_UNITS})" if d.too_few else ""
                )
                rows.append(
                    {
                        "model": model,
                        "reference": ref,
                        "row": name,
                        "n": d.n,
                        "delta": d.delta,
                        "low": d.low,
                        "high": d.high,
                        "se": d.se,
                        "p": d.p,
                        "p_bh": d.p_adjusted,
                        "significant": d.significant,
                        "verdict": verdict,
                    }
                )
    return rows


def _fmt(value) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and value != value)
        else f"{value:.3f}"
        if isinstance(value, float)
        else str(value)
    )


def score_table(c: Comparison) -> pd.DataFrame:
    """Scores as 'value ± SE' with the resampling-unit count n (of the first model that has the row)."""
    table = pd.DataFrame(
        {
            m: {
                r: f"{c.scores.at[r, m]:.3f}±{c.intervals[m][r].se:.3f}".replace("±0.", "±.")
                if r in c.intervals[m]
                else _fmt(c.scores.at[r, m])
                for r in c.scores.index
            }
            for m in c.scores.columns
        }
    ).reindex(c.scores.index)
    table.insert(
        0,
        "n",
        [
            next((str(c.intervals[m][r].n) for m in c.scores.columns if r in c.intervals[m]), "–")
            for r in c.scores.index
        ],
    )
    return table


def _matrix_markdown(c: Comparison) -> list[str]:
    reference, delta, mark, counts = delta_matrix(c)
    if delta.empty:
        return []
    cells = pd.DataFrame(
        {m: [f"{v:+.3f}{k}" if v == v else "–" for v, k in zip(delta[m], mark[m])] for m in delta.columns},
        index=delta.index,
    )
    cells.insert(0, "n", counts)
    return [
        f"## Δ vs {reference}",
        "",
        "95% paired bootstrap intervals by each task's resampling unit; * = significant after the "
        "Benjamini-Hochberg correction over all comparisons of this report; ? = too few items to tell "
        f"(n < {MIN_UNITS}). Every comparison with its interval and p-values: [deltas.csv](deltas.csv).",
        "",
        cells.to_markdown(),
        "",
    ]


def markdown(c: Comparison, figure_names: list[str]) -> str:
    lines = [f"# {c.name}: {c.suite}", ""]
    if c.note:
        lines += [f"> {c.note}", ""]
    lines += [f"> ⚠ {w}" for w in c.warnings] + ([""] if c.warnings else [])
    lines += ["## Scores (measured; ± bootstrap SE, n = resampling units)", "", score_table(c).to_markdown(), ""]
    lines += _matrix_markdown(c)
    lines += ["## Efficiency", "", c.efficiency.map(_fmt).to_markdown(), ""]
    speed = speed_section(c.speed)
    lines += ["## Generation speed (lep-bench speed)", "", speed["how"] + ".", ""]
    if speed["table"] is not None:
        lines += [speed["table"].to_markdown(index=False), ""] + [f"> ⚠ {w}" for w in speed["warnings"]] + [""]
    if not c.published.empty:
        lines += [
            "## Published reference rows (not measured by lep-bench)",
            "",
            f"Source: {PUBLISHED_CITATION}.",
            "",
            c.published.to_markdown(index=False),
            "",
        ]
    lines += ["## Figures", ""] + [f"![{name}]({name})" for name in figure_names] + [""]
    lines += ["## Runs", ""] + [
        f"- {m}: `{p['settings']['backend']['backend']}`, {run}"
        for (run, _), (m, p) in zip(c.runs, c.provenance.items())
    ]
    return "\n".join(lines) + "\n"


def write_report(c: Comparison, out_dir: Path) -> Path:
    """Write report.md, index.html and the PNGs; returns the HTML path."""
    images = figures(c)
    for name, data in images.items():
        write_bytes(out_dir / name, data)
    write_text(out_dir / "report.md", markdown(c, list(images)))
    write_text(out_dir / "deltas.csv", pd.DataFrame(delta_rows(c)).to_csv(index=False))
    reference, delta, mark, counts = delta_matrix(c)
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = environment.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        c=c,
        scores=score_table(c),
        deltas=delta_rows(c),
        reference=reference,
        delta=delta,
        mark=mark,
        counts=counts,
        min_units=MIN_UNITS,
        fmt=_fmt,
        fmt_delta=lambda v: "–" if v != v else f"{v:+.3f}",
        citation=PUBLISHED_CITATION,
        speed=speed_section(c.speed),
        images={k: base64.b64encode(v).decode() for k, v in images.items()},
        dump=lambda p: json.dumps(p, ensure_ascii=False, indent=1),
    )
    write_text(out_dir / "index.html", html)
    return out_dir / "index.html"
