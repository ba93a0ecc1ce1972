"""A speed run's figures summarised: median, IQR and CV per model, regime, language and figure, and each
model's ratios to the reference taken trial by trial (so both sides of a ratio share the machine's state)."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.speed.engines import Measurement
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


def summarise(
    trials: dict[str, list[dict[str, dict[str, Measurement]]]], chars: dict[str, dict[str, float]], reference: str
) -> dict[str, Any]:
    """Median/IQR/CV per model, regime, language and figure; ratios to the reference taken within each trial."""
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
    for model, rounds in trials.items():
        if model == reference:
            continue
        ratios[model] = {}
        for regime in REGIMES:
            for lang in LANGUAGES:
                ratios[model][f"{regime}/{lang}"] = {
                    figure: _spread(
                        [
                            value(r[regime][lang], chars[model][lang])
                            / value(ref[regime][lang], chars[reference][lang])
                            for r, ref in zip(rounds, trials[reference])
                        ]
                    )
                    for figure, value in FIGURES.items()
                    if figure not in ("ttft_s", "tpot_s")
                }
    return {"summary": summary, "ratios": ratios, "warnings": warnings}


def speed_table(record: dict[str, Any]) -> "pd.DataFrame":
    """One row per model and regime: median [IQR] of the figures that matter, ratios to the reference."""
    import pandas as pd

    def cell(s: dict[str, float], scale: float = 1.0, digits: int = 1) -> str:
        return f"{s['median'] * scale:.{digits}f} [{s['q1'] * scale:.{digits}f}, {s['q3'] * scale:.{digits}f}]"

    rows = []
    for model, regimes in record["summary"].items():
        for regime in REGIMES:
            ru, en = regimes[f"{regime}/ru"], regimes[f"{regime}/en"]
            ratio = record["ratios"].get(model, {}).get(f"{regime}/ru")
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
                    "× ref decode tok/s": cell(ratio["decode_tokens_per_s"], digits=3) if ratio else "ref",
                    "× ref RU chars/s": cell(ratio["chars_per_s"], digits=3) if ratio else "ref",
                }
            )
    return pd.DataFrame(rows)
