"""A comparison written out: reports/<name>/report.md, index.html (one self-contained file) and PNGs.

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

from harness.compare import PUBLISHED_CITATION, Comparison  # noqa: E402
from harness.speed import speed_table  # noqa: E402
from lep.atomic_write import write_bytes, write_text  # noqa: E402
from tasks_ru.suites import SUITES, TOTAL  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def figures(c: Comparison) -> dict[str, bytes]:
    """Group scores per model; quality vs Russian characters/token; Russian generation speed (when measured)."""
    groups = [g for g in [*SUITES[c.suite], TOTAL[c.suite]] if g in c.scores.index]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    c.scores.loc[groups].plot.bar(ax=ax, rot=0, width=0.8)
    ax.set_ylabel("score (0-1)")
    ax.set_title(f"{c.suite}: group scores per model")
    ax.legend(title="model", fontsize=8)
    ax.set_ylim(0, 1)
    out = {"groups.png": _png(fig)}

    total = TOTAL[c.suite]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    points: dict[tuple[float, float], list[str]] = {}
    for model in c.scores.columns:
        y = c.scores.loc[total, model] if total in c.scores.index else float("nan")
        points.setdefault((round(float(c.efficiency.loc[model, "ru chars/token"]), 4), round(float(y), 4)), []).append(model)
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
    for offset, (regime, figure, label) in enumerate((("latency", "chars_per_s", "batch 1"),
                                                      ("throughput", "total_chars_per_s", f"batch {record['settings']['batch']}"))):
        cells = [record["summary"][m][f"{regime}/ru"][figure] for m in models]
        medians = [c["median"] for c in cells]
        errors = [[c["median"] - c["q1"] for c in cells], [c["q3"] - c["median"] for c in cells]]
        ax.barh([i + 0.4 * offset for i in range(len(models))], medians, height=0.4, xerr=errors, label=label, capsize=3)
    ax.set_yticks([i + 0.2 for i in range(len(models))], models)
    ax.set_xlabel(f"Russian characters per second ({record['settings']['new_tokens']} tokens per request, median and IQR)")
    ax.set_title(f"generation speed ({record['settings']['backend']}, {record['machine']['cpu_count']} CPUs)")
    ax.legend(fontsize=8)
    return _png(fig)


def speed_section(record: dict | None) -> dict:
    """What the report says about speed: the table, how it was measured, its warnings."""
    if not record:
        return {"table": None, "how": "not measured: add `speed:` to the experiment or run `lep-bench speed`", "warnings": []}
    s = record["settings"]
    how = (f"{s['backend']}, exactly {s['new_tokens']} tokens per request, {s['warmup']} warm-up round(s) dropped, {s['trials']} trials with the models "
           f"interleaved; median [IQR]; ratios to {record['reference']} taken within each trial; chars/s = decode tokens/s × the model's "
           f"chars/token on the Russian text; CPU {record['machine']['cpu']}, load {record['machine']['load_before'][0]:.1f} at start")
    return {"table": speed_table(record), "how": how, "warnings": record["warnings"]}


def _delta_rows(c: Comparison) -> list[dict]:
    rows = []
    for (model, ref), deltas in c.deltas.items():
        for name in c.scores.index:
            if name in deltas:
                d = deltas[name]
                rows.append({"model": model, "reference": ref, "row": name, "delta": d.delta, "low": d.low, "high": d.high, "significant": d.significant})
    return rows


def _fmt(value) -> str:
    return "–" if value is None or (isinstance(value, float) and value != value) else f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(c: Comparison) -> str:
    lines = [f"# {c.name}: {c.suite}", ""]
    if c.note:
        lines += [f"> {c.note}", ""]
    lines += [f"> ⚠ {w}" for w in c.warnings] + ([""] if c.warnings else [])
    lines += ["## Scores (measured)", "", c.scores.map(_fmt).to_markdown(), ""]
    lines += ["## Differences vs references (95% paired bootstrap CI; * = CI excludes 0)", "", "| model | reference | row | Δ | 95% CI |", "|---|---|---|---|---|"]
    for r in _delta_rows(c):
        lines.append(f"| {r['model']} | {r['reference']} | {r['row']} | {r['delta']:+.3f}{' *' if r['significant'] else ''} | [{r['low']:+.3f}, {r['high']:+.3f}] |")
    lines += ["", "## Efficiency", "", c.efficiency.map(_fmt).to_markdown(), ""]
    speed = speed_section(c.speed)
    lines += ["## Generation speed (lep-bench speed)", "", speed["how"] + ".", ""]
    if speed["table"] is not None:
        lines += [speed["table"].to_markdown(index=False), ""] + [f"> ⚠ {w}" for w in speed["warnings"]] + [""]
    if not c.published.empty:
        lines += ["## Published reference rows (not measured by lep-bench)", "", f"Source: {PUBLISHED_CITATION}.", "", c.published.to_markdown(index=False), ""]
    lines += ["## Figures", "", "![group scores](groups.png)", "![quality vs efficiency](quality_vs_efficiency.png)"]
    lines += ["![speed](speed.png)", ""] if c.speed else [""]
    lines += ["## Runs", ""] + [f"- {m}: `{p['settings']['backend']['backend']}`, {run}" for (run, _), (m, p) in zip(c.runs, c.provenance.items())]
    return "\n".join(lines) + "\n"


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ c.name }} · lep-bench</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.88rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;white-space:nowrap}th:first-child,td:first-child{text-align:left}
.sig{font-weight:bold}.neg{color:#b00}.pos{color:#070}.warn{background:#fff4d6;border-left:4px solid #e0a000;padding:.5rem 1rem}
.note{background:#eef4ff;border-left:4px solid #4a7bd0;padding:.5rem 1rem}.published{color:#555;font-style:italic}
table.published{font-size:.78rem}table.published td:nth-child(2){text-align:left;white-space:normal;min-width:16rem}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.5rem;font-size:.8rem;max-height:14rem;overflow:auto}
img{max-width:100%;height:auto}details{margin:.3rem 0}
</style></head><body>
<h1>{{ c.name }} <small>({{ c.suite }})</small></h1>
{% if c.note %}<p class="note">{{ c.note }}</p>{% endif %}
{% for w in c.warnings %}<p class="warn">⚠ {{ w }}</p>{% endfor %}
<h2>Scores (measured)</h2>
<table><tr><th>task / group</th>{% for m in c.scores.columns %}<th>{{ m }}</th>{% endfor %}</tr>
{% for name, row in c.scores.iterrows() %}<tr><td>{{ name }}</td>{% for v in row %}<td>{{ fmt(v) }}</td>{% endfor %}</tr>{% endfor %}</table>
<h2>Differences vs references</h2><p>Δ = model − reference, 95% paired bootstrap interval over the same items (bold: the interval excludes 0).</p>
<table><tr><th>model</th><th>reference</th><th>task / group</th><th>Δ</th><th>95% CI</th></tr>
{% for r in deltas %}<tr><td>{{ r.model }}</td><td>{{ r.reference }}</td><td>{{ r.row }}</td>
<td class="{{ 'sig' if r.significant }} {{ 'neg' if r.delta < 0 else 'pos' }}">{{ '%+.3f' % r.delta }}</td><td>[{{ '%+.3f' % r.low }}, {{ '%+.3f' % r.high }}]</td></tr>{% endfor %}</table>
<h2>Efficiency</h2>
<table><tr><th>model</th>{% for col in c.efficiency.columns %}<th>{{ col }}</th>{% endfor %}</tr>
{% for name, row in c.efficiency.iterrows() %}<tr><td>{{ name }}</td>{% for v in row %}<td>{{ fmt(v) }}</td>{% endfor %}</tr>{% endfor %}</table>
<h2>Generation speed</h2><p>{{ speed.how }}.</p>
{% if speed.table is not none %}<table><tr>{% for col in speed.table.columns %}<th>{{ col }}</th>{% endfor %}</tr>
{% for _, row in speed.table.iterrows() %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>
{% for w in speed.warnings %}<p class="warn">⚠ {{ w }}</p>{% endfor %}{% endif %}
{% if not c.published.empty %}<h2>Published reference rows</h2><p class="published">Not measured by lep-bench: {{ citation }}.</p>
<table class="published"><tr>{% for col in c.published.columns %}<th>{{ col }}</th>{% endfor %}</tr>
{% for _, row in c.published.iterrows() %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
<h2>Figures</h2>{% for name, data in images.items() %}<img alt="{{ name }}" src="data:image/png;base64,{{ data }}">{% endfor %}
<h2>Disagreements (first two models)</h2>
{% for task, items in c.examples.items() %}<details><summary>{{ task }} ({{ items|length }})</summary>
{% for e in items %}<p>item {{ e.doc_id }} · gold: {{ e.target }}</p><pre>{{ e.prompt }}</pre>
{% for model, out in e.outputs.items() %}<p><b>{{ model }}</b></p><pre>{{ out }}</pre>{% endfor %}{% endfor %}</details>{% endfor %}
<h2>Provenance</h2>
{% for model, p in c.provenance.items() %}<details><summary>{{ model }} · {{ p.settings.backend.backend }} · git {{ p.git_revision }}</summary><pre>{{ dump(p) }}</pre></details>{% endfor %}
</body></html>
"""


def write_report(c: Comparison, out_dir: Path) -> Path:
    """Write report.md, index.html and the PNGs; returns the HTML path."""
    images = figures(c)
    for name, data in images.items():
        write_bytes(out_dir / name, data)
    write_text(out_dir / "report.md", markdown(c))
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = environment.from_string(TEMPLATE).render(
        c=c, deltas=_delta_rows(c), fmt=_fmt, citation=PUBLISHED_CITATION, speed=speed_section(c.speed),
        images={k: base64.b64encode(v).decode() for k, v in images.items()},
        dump=lambda p: json.dumps(p, ensure_ascii=False, indent=1),
    )
    write_text(out_dir / "index.html", html)
    return out_dir / "index.html"
