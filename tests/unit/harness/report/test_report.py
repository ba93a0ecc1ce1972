"""The report: escaping, like-for-like warnings, many-model layout, and paths that name no machine."""

import json
import shutil
from pathlib import Path

from harness.report.comparison import build_comparison
from harness.report.report import write_report
from harness.stats.simulate import model_skills
from tests.support.synthetic_runs import write_run

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _hostile_other_backend(reference: Path, copy: Path) -> Path:
    """A copy of a run that answered every RuBQ item with HTML, on another backend."""
    shutil.copytree(reference, copy)
    samples = copy / "samples" / "ru_open_rubq.jsonl"
    rows = [json.loads(line) | {"filtered_resps": [HOSTILE]} for line in samples.read_text().splitlines()]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name, edit in (("summary.json", {"model": "other"}), ("provenance.json", {})):
        record = json.loads((copy / name).read_text()) | edit
        if name == "provenance.json":
            record["settings"]["backend"]["backend"] = "vllm-server"
        (copy / name).write_text(json.dumps(record))
    return copy


def test_model_output_is_escaped_and_mixed_settings_are_warned(tmp_path):
    reference = write_run(tmp_path / "runs", "tiny", "ru-open", 0.0, seed=1, n=12, tasks=["ru_open_rubq"])
    other = _hostile_other_backend(reference, tmp_path / "runs" / "other" / "ru-open" / "synthetic")
    comparison = build_comparison("t", [(reference, "reference"), (other, "candidate")], iterations=100)
    assert any("runs differ in backend settings" in w for w in comparison.warnings)
    html = write_report(comparison, tmp_path / "report").read_text()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "data:image/png;base64," in html
    assert "runs differ in backend settings" in html
    assert (tmp_path / "report" / "report.md").read_text().count("ru_open_rubq") >= 2


def test_a_report_names_paths_relative_to_the_run_store(tmp_path):
    run = write_run(tmp_path / "store", "tiny", "ru-open", 0.0, seed=1, n=12, tasks=["ru_open_rubq"])
    comparison = build_comparison("t", [(run, "reference")], iterations=50)
    html = write_report(comparison, tmp_path / "report").read_text()
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "<runs>/tiny/ru-open/synthetic" in markdown
    assert str(tmp_path) not in markdown
    assert str(tmp_path) not in html


def test_thirteen_models_get_a_heatmap_counts_and_collapsed_deltas(tmp_path):
    runs = [
        (
            write_run(tmp_path / "runs", f"model-{k:02d}", "ru-open", skill, seed=k, n=60),
            "candidate" if k else "reference",
        )
        for k, skill in enumerate(model_skills(13))
    ]
    summary = json.loads((runs[0][0] / "summary.json").read_text())
    assert set(summary["uncertainty"]) == set(summary["tasks"]) | set(summary["groups"])
    for row in summary["uncertainty"].values():
        assert row["se"] > 0
        assert row["n"] >= 60
        assert row["low"] <= row["score"] <= row["high"]
    comparison = build_comparison("thirteen", runs, iterations=200)
    html = write_report(comparison, tmp_path / "report").read_text()
    assert "Δ heatmap" in html
    assert "<details><summary>All 192 comparisons" in html
    assert "±" in html
    rows = (tmp_path / "report" / "deltas.csv").read_text().splitlines()
    assert len(rows) == 1 + 12 * 16
    assert rows[0] == (
        "model,reference,row,n,delta,low,high,se,differing,p,p_bh,p_drop,p_mc_error,interval,test,detectable_80,"
        "significant,verdict,higher_is_better"
    )
    assert (tmp_path / "report" / "deltas.png").stat().st_size > 10_000
    deltas = [d for rows in comparison.deltas.values() for d in rows.values()]
    assert all(d.p_adjusted >= d.p for d in deltas)
    assert min(d.p for d in deltas) < 0.05
    assert all(d.detectable > 0 for d in deltas if d.se > 0)


def test_where_lower_is_better_the_report_says_so_and_colours_a_fall_as_better(tmp_path):
    reference = write_run(tmp_path / "runs", "original", "likelihood", 0.0, seed=1, n=80)
    better = write_run(tmp_path / "runs", "adapted", "likelihood", 2.0, seed=2, n=80)
    comparison = build_comparison("t", [(reference, "reference"), (better, "candidate")], iterations=100)
    assert comparison.scores.at["bits_per_char_ru", "adapted"] < comparison.scores.at["bits_per_char_ru", "original"]
    html = write_report(comparison, tmp_path / "report").read_text()
    markdown = (tmp_path / "report" / "report.md").read_text()
    said = next(line for line in markdown.splitlines() if line.startswith("Lower is better on "))
    assert set(said.split(" (")[0].removeprefix("Lower is better on ").split(", ")) == {
        "bits_per_char_ru", "bits_per_char_en", "Bits/char", "Mean"
    }  # fmt: skip
    deltas = html[html.index("<h2>Δ vs") :]
    row = deltas[deltas.index("<tr><td>bits_per_char_ru</td>") :].split("</tr>")[0]
    assert "−" in row or "-0." in row  # the Δ itself is model − reference: negative
    assert "pos" in row and "neg" not in row  # and it is coloured as the better one
