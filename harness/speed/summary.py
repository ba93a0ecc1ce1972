"""A speed run's figures summarised: median, IQR and CV per model, regime, language and figure, and each
model's ratios to the reference taken trial by trial (so both sides of a ratio share the machine's state), with
their 95% interval (harness/speed/precision.py)."""

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.speed.engines import Measurement
from harness.speed.precision import ratio_interval
from harness.speed.settings import LANGUAGES, REGIMES

if TYPE_CHECKING:
    import pandas as pd

CV_WARNING = 0.05


def _spread(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    mean = float(array.mean())
    return {
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "cv": float(array.std(ddof=1) / mean) if mean and len(array) > 1 else 0.0,
        "n": len(array),
    }


FIGURES: dict[str, Callable[[Measurement, float], float]] = {
    "decode_tokens_per_s": lambda m, cpt: m.decode_tokens_per_s,
    "tokens_per_s": lambda m, cpt: m.tokens_per_s,
    "ttft_s": lambda m, cpt: m.ttft_s,
    "tpot_s": lambda m, cpt: m.tpot_s,
    "chars_per_s": lambda m, cpt: m.decode_tokens_per_s * cpt,  # effective, per stream: what one reader gets per second
    "total_chars_per_s": lambda m, cpt: m.tokens_per_s * cpt,  # effective, all streams of the round together
}


Trials = dict[str, list[dict[str, dict[str, Measurement]]]]  # model -> trials -> regime -> language
RATIO_FIGURES = ("decode_tokens_per_s", "tokens_per_s", "chars_per_s", "total_chars_per_s")


def paired_ratios(
    trials: Trials, chars: dict[str, dict[str, float]], reference: str
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """model -> regime/language -> figure -> its ratio to the reference in each trial (both measured back to back)."""
    return {
        model: {
            f"{regime}/{lang}": {
                figure: [
                    FIGURES[figure](r[regime][lang], chars[model][lang])
                    / FIGURES[figure](ref[regime][lang], chars[reference][lang])
                    for r, ref in zip(rounds, trials[reference])
                ]
                for figure in RATIO_FIGURES
            }
            for regime in REGIMES
            for lang in LANGUAGES
        }
        for model, rounds in trials.items()
        if model != reference
    }


def widest_interval(trials: Trials, chars: dict[str, dict[str, float]], reference: str) -> float:
    """The largest relative half-width of any ratio's 95% interval (0 with no ratios): what the stopping rule reads."""
    return max(
        (
            ratio_interval(values).precision
            for cells in paired_ratios(trials, chars, reference).values()
            for figures in cells.values()
            for values in figures.values()
        ),
        default=0.0,
    )


def summarise(trials: Trials, chars: dict[str, dict[str, float]], reference: str, target: float) -> dict[str, Any]:
    """Median/IQR/CV per model, regime, language and figure; ratios to the reference taken within each trial, with
    their 95% interval; a warning for each figure that varies by more than 5% and each cell short of the target."""
    summary: dict[str, Any] = {}
    warnings = []
    for model, rounds in trials.items():
        summary[model] = {}
        for regime in REGIMES:
            for lang in LANGUAGES:
                cell = {}
                for figure, value in FIGURES.items():
                    values = [value(r[regime][lang], chars[model][lang]) for r in rounds]
                    cell[figure] = _spread(values)
                    if figure == "decode_tokens_per_s" and cell[figure]["cv"] > CV_WARNING:
                        warnings.append(
                            f"{model} {regime} {lang}: decode tokens/s varies by {cell[figure]['cv']:.1%} "
                            f"across trials (> {CV_WARNING:.0%})"
                        )
                summary[model][f"{regime}/{lang}"] = cell
    ratios: dict[str, Any] = {}
    for model, cells in paired_ratios(trials, chars, reference).items():
        ratios[model] = {
            cell: {figure: _spread(values) | asdict(ratio_interval(values)) for figure, values in figures.items()}
            for cell, figures in cells.items()
        }
        for cell, figures in ratios[model].items():
            figure = max(figures, key=lambda f: figures[f]["precision"])
            if figures[figure]["precision"] > target:
                warnings.append(
                    f"{model} {cell.replace('/', ' ')}: the ratio to {reference} is known to "
                    f"±{figures[figure]['precision']:.1%} ({figure}, 95% interval), short of the ±{target:.1%} target"
                )
    return {"summary": summary, "ratios": ratios, "warnings": warnings}


def speed_table(record: dict[str, Any]) -> "pd.DataFrame":
    """One row per model and regime: median [IQR] of the figures that matter; ratios to the reference with their
    95% interval and precision, saying so where the target was not met."""
    import pandas as pd

    def cell(s: dict[str, float], scale: float = 1.0, digits: int = 1) -> str:
        return f"{s['median'] * scale:.{digits}f} [{s['q1'] * scale:.{digits}f}, {s['q3'] * scale:.{digits}f}]"

    target = record["settings"]["precision"]

    def ratio(cells: dict[str, Any] | None, cell: str, figure: str) -> str:
        if cells is None:
            return "ref"
        r = cells[cell][figure]
        text = f"{r['ratio']:.3f} [{r['low']:.3f}, {r['high']:.3f}] ±{r['precision']:.1%}"
        return text if r["precision"] <= target else f"{text} (target not met)"

    rows = []
    for model, regimes in record["summary"].items():
        for regime in REGIMES:
            ru, en = regimes[f"{regime}/ru"], regimes[f"{regime}/en"]
            ratios = record["ratios"].get(model)
            rows.append(
                {
                    "model": model,
                    "regime": "batch 1" if regime == "latency" else f"batch {record['settings']['batch']}",
                    "RU decode tok/s": cell(ru["decode_tokens_per_s"]),
                    "EN decode tok/s": cell(en["decode_tokens_per_s"]),
                    "RU chars/s (per stream)": cell(ru["chars_per_s"], digits=0),
                    "RU chars/s (all streams)": cell(ru["total_chars_per_s"], digits=0),
                    "TTFT ms (RU)": cell(ru["ttft_s"], 1000.0),
                    "chars/token RU": f"{record['chars_per_token'][model]['ru']:.2f}",
                    "× ref RU decode tok/s": ratio(ratios, f"{regime}/ru", "decode_tokens_per_s"),
                    "× ref EN decode tok/s": ratio(ratios, f"{regime}/en", "decode_tokens_per_s"),
                    "× ref RU chars/s": ratio(ratios, f"{regime}/ru", "chars_per_s"),
                }
            )
    return pd.DataFrame(rows)
