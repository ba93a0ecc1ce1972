"""The report's tables, shared by its markdown and HTML: scores with their SE and n, the Δ matrix against the
first reference, every comparison's row (deltas.csv), and the speed section."""

import pandas as pd

from harness.report.comparison import Comparison
from harness.report.paths import portable
from harness.speed.summary import speed_table
from tasks_ru.suites import higher_is_better


def delta_matrix(comparison: Comparison) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.Series]:
    """(reference, Δ, mark, n) as row × model frames against the first reference; mark: '*' significant,
    '?' no outcome could have been significant (too few differing units); n: each row's resampling units."""
    if not comparison.deltas:
        return "", pd.DataFrame(), pd.DataFrame(), pd.Series(dtype=int)
    reference = comparison.first_reference()
    pairs = {m: d for (m, ref), d in comparison.deltas.items() if ref == reference}
    rows = [r for r in comparison.scores.index if any(r in d for d in pairs.values())]
    delta = pd.DataFrame({m: {r: d[r].delta for r in rows if r in d} for m, d in pairs.items()}).reindex(rows)
    mark = pd.DataFrame(
        {
            m: {r: "*" if d[r].significant else "" if d[r].reachable else "?" for r in rows if r in d}
            for m, d in pairs.items()
        }
    ).reindex(rows)
    counts = pd.Series({r: next(d[r].n for d in pairs.values() if r in d) for r in rows})
    return reference, delta, mark, counts


def speed_section(record: dict | None, labels: dict[str, str], speed_skipped: bool = False) -> dict:
    """What the report says about speed: the table, how it was measured, its warnings."""
    if not record:
        why = (
            "not measured in a gate run (`--gate`: speed is not gated; run without it for the speed section)"
            if speed_skipped
            else "not measured: add `speed:` to the experiment or run `lep-bench speed`"
        )
        return {"table": None, "how": why, "warnings": []}
    s = record["settings"]
    text = (
        f"FLORES devtest in {portable(record['data_dir'], labels)}"
        if record["data_dir"]
        else "the FLORES devtest lep-bench ships"
    )
    stop = record["stopping"]
    how = (
        f"{s['backend']}, exactly {s['new_tokens']} tokens per request, {s['warmup']} warm-up round(s) "
        f"dropped, then trials with the models interleaved until every ratio's 95% interval was within "
        f"±{s['precision']:.1%} or {s['max_seconds']} s had passed (at least {s['trials']} trials): "
        f"{stop['trials']} trials in {stop['seconds']:.0f} s, widest interval ±{stop['widest']:.1%}, target "
        f"{'met' if stop['met'] else 'not met'}; median [IQR]; ratios to {record['reference']}: geometric mean of "
        "the per-trial ratios [95% t-interval] ±its relative half-width; chars/s = decode tokens/s × the model's "
        f"chars/token on the Russian text ({text}); CPU {record['machine']['cpu']}, load "
        f"{record['machine']['load_before'][0]:.1f} at start"
    )
    return {"table": speed_table(record), "how": how, "warnings": record["warnings"]}


def lower_is_better(comparison: Comparison) -> list[str]:
    """The report's rows where the smaller score is the better one (bits per character), in report order."""
    return [row for row in comparison.scores.index if not higher_is_better(comparison.suite, row)]


def delta_rows(comparison: Comparison) -> list[dict]:
    """Every comparison of the report: Δ, 95% interval, n, differing units, p-values (raw, BH-adjusted, one-sided
    drop), how each was computed, the smallest difference detectable with 80% power, and the verdict."""
    rows = []
    for (model, ref), deltas in comparison.deltas.items():
        for name in comparison.scores.index:
            if name in deltas:
                d = deltas[name]
                verdict = "significant" if d.significant else "" if d.reachable else d.why_unknown()
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
                        "differing": d.differing,
                        "p": d.p,
                        "p_bh": d.p_adjusted,
                        "p_drop": d.p_drop,  # one-sided: the model scored lower (worse unless lower is better)
                        "p_mc_error": d.p_error,
                        "interval": d.interval,
                        "test": d.test,
                        "detectable_80": d.detectable,
                        "significant": d.significant,
                        "verdict": verdict,
                        "higher_is_better": higher_is_better(comparison.suite, name),
                    }
                )
    return rows


def fmt(value) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and value != value)
        else f"{value:.3f}"
        if isinstance(value, float)
        else str(value)
    )


def score_table(comparison: Comparison) -> pd.DataFrame:
    """Scores as 'value ± SE' with the resampling-unit count n (of the first model that has the row)."""
    table = pd.DataFrame(
        {
            m: {
                r: f"{comparison.scores.at[r, m]:.3f}±{comparison.intervals[m][r].se:.3f}".replace("±0.", "±.")
                if r in comparison.intervals[m]
                else fmt(comparison.scores.at[r, m])
                for r in comparison.scores.index
            }
            for m in comparison.scores.columns
        }
    ).reindex(comparison.scores.index)
    table.insert(
        0,
        "n",
        [
            next(
                (str(comparison.intervals[m][r].n) for m in comparison.scores.columns if r in comparison.intervals[m]),
                "–",
            )
            for r in comparison.scores.index
        ],
    )
    return table


def delta_cells(comparison: Comparison) -> pd.DataFrame:
    """The Δ matrix as text cells ('+0.074*', '–' where a model lacks the row), with each row's n first."""
    reference, delta, mark, counts = delta_matrix(comparison)
    if delta.empty:
        return delta
    cells = pd.DataFrame(
        {m: [f"{v:+.3f}{k}" if v == v else "–" for v, k in zip(delta[m], mark[m])] for m in delta.columns},
        index=delta.index,
    )
    cells.insert(0, "n", counts)
    return cells
