"""A comparison written out: reports/<name>/report.md and index.html (one self-contained file), deltas.csv (every
comparison: Δ, interval, n, raw and BH-adjusted p) and the PNGs. At many models the Δ heatmap (task × model vs
the first reference) is the view; the full Δ table is collapsed, and in the CSV.

Both documents are jinja2 templates (templates/ beside this file) over the same tables. The HTML is rendered
with autoescaping on: model outputs and dataset text may contain HTML, and none of it may be interpreted.
Figures are embedded in it as base64 PNGs. Paths are named relative to the run store or the data folder.
"""

import base64
from pathlib import Path

import jinja2
import pandas as pd

from harness.report.comparison import Comparison
from harness.report.figures import FIGURE_FILES, figures
from harness.report.instructions import accuracy_table, instruction_table
from harness.report.paths import anchors, portable, portable_json
from harness.report.published import PUBLISHED_CITATION
from harness.report.tables import (
    delta_cells,
    delta_matrix,
    delta_rows,
    fmt,
    lower_is_better,
    score_table,
    speed_section,
)
from harness.report.verdict import VERDICT_HOW, verdicts
from lep.atomic_write import write_bytes, write_text

TEMPLATES = Path(__file__).with_name("templates")


def _render(name: str, **context) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.get_template(name).render(**context)


def write_report(c: Comparison, out_dir: Path) -> Path:
    """Write report.md, index.html, deltas.csv and the PNGs; returns the HTML path."""
    images, left_out = figures(c)
    for name, data in images.items():
        write_bytes(out_dir / name, data)
    for stale in set(FIGURE_FILES) - set(images):  # a figure this report leaves out, from an earlier report here
        (out_dir / stale).unlink(missing_ok=True)
    write_text(out_dir / "deltas.csv", pd.DataFrame(delta_rows(c)).to_csv(index=False))
    data_dirs = [p["settings"].get("data", {}).get("data_dir") for p in c.provenance.values()]
    labels = anchors([run for run, _ in c.runs], data_dirs + [(c.speed or {}).get("data_dir")])
    reference, delta, mark, counts = delta_matrix(c)
    context = {
        "c": c,
        "warnings": portable(c.warnings, labels),
        "scores": score_table(c),
        "instructions": instruction_table(c.tables),
        "accuracies": accuracy_table(c.tables, reference),
        "cells": delta_cells(c),
        "deltas": delta_rows(c),
        "reference": reference,
        "delta": delta,
        "mark": mark,
        "counts": counts,
        "lower": lower_is_better(c),
        "verdicts": verdicts(c),
        "left_out": left_out,
        "verdict_how": VERDICT_HOW,
        "fmt": fmt,
        "fmt_delta": lambda v: "–" if v != v else f"{v:+.3f}",
        "citation": PUBLISHED_CITATION,
        "speed": speed_section(c.speed, labels, c.speed_skipped),
        "runs": [
            (model, p["settings"]["backend"]["backend"], portable(str(run), labels))
            for (run, _), (model, p) in zip(c.runs, c.provenance.items())
        ],
        "dump": lambda value: portable_json(value, labels),
    }
    write_text(out_dir / "report.md", _render("report.md.j2", images=list(images), **context))
    html = _render("report.html.j2", images={k: base64.b64encode(v).decode() for k, v in images.items()}, **context)
    write_text(out_dir / "index.html", html)
    return out_dir / "index.html"
