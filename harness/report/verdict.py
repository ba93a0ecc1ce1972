"""The report's first section: per candidate against the reference, what the adaptation bought (Russian tokens
saved, Russian characters per second) and what it cost or gained in quality (rows significantly better or worse
after the Benjamini-Hochberg correction, and for every other row the smallest change its data could have
detected at 80% power), as short lines a reader takes in at a glance."""

from dataclasses import dataclass, field

import pandas as pd

from harness.report.comparison import Comparison
from tasks_ru.suites import SUITES, TOTAL, higher_is_better

VERDICT_HOW = (
    "Tokens: characters per token on the Efficiency section's text, the candidate's over the reference's. Speed: "
    "the generation-speed run's ratio of Russian characters per second, paired trial by trial [95% interval]. "
    "Better / worse: tasks and groups whose paired Δ is significant after the Benjamini-Hochberg correction over "
    "every comparison of the report (Δ [95% interval], adjusted p); for every other task, the smallest |Δ| its "
    "items could have detected with 80% power, so a change below it is not ruled out."
)


@dataclass
class Change:
    """One row that changed significantly: Δ (model − reference), 95% interval, BH-adjusted p."""

    row: str
    delta: float
    low: float
    high: float
    p_adjusted: float

    def text(self) -> str:
        return f"{self.row} {self.delta:+.3f} [{self.low:+.3f}, {self.high:+.3f}], p adj. {self.p_adjusted:.2g}"


@dataclass
class Verdict:
    """One candidate against the reference."""

    model: str
    reference: str
    ru_tokens: float | None  # ru chars/token of the model ÷ the reference's: > 1 means fewer tokens for the text
    en_tokens: float | None
    ru_speed: str | None  # Russian chars/s ratio [95% interval] at batch 1, from the speed run
    better: list[Change] = field(default_factory=list)
    worse: list[Change] = field(default_factory=list)
    undetected: list[tuple[str, float]] = field(default_factory=list)  # row, smallest detectable |Δ| (80% power)
    identical: list[str] = field(default_factory=list)  # tasks on which no unit differs at all
    hopeless: list[str] = field(default_factory=list)  # 0-1 tasks too small to detect even a change of 1

    def lines(self) -> list[str]:
        tokens = (
            f"Russian text in {1 / self.ru_tokens:.0%} of the reference's tokens ({self.ru_tokens:.2f}x chars/token), "
            f"English {self.en_tokens:.2f}x"
            if self.ru_tokens and self.en_tokens
            else "tokenizer efficiency not measured"
        )
        speed = f"Russian chars/s {self.ru_speed} (batch 1)" if self.ru_speed else "speed not measured"
        quality = ([f"better: {'; '.join(c.text() for c in self.better)}"] if self.better else ["better: no row"]) + (
            [f"worse: {'; '.join(c.text() for c in self.worse)}"] if self.worse else ["worse: no row"]
        )
        if self.undetected:
            shown = ", ".join(f"{row} ±{size:.2f}" for row, size in self.undetected)
            quality.append(f"no significant change on the rest; the smallest change each could detect: {shown}")
        if self.hopeless:
            quality.append(f"too few items to detect any change: {', '.join(self.hopeless)}")
        if self.identical:
            quality.append(f"the same on every item: {', '.join(self.identical)}")
        return [tokens, speed, *quality]


def _ratio(efficiency: pd.DataFrame, model: str, reference: str, column: str) -> float | None:
    if efficiency.empty or column not in efficiency.columns:
        return None
    value = efficiency.at[model, column] / efficiency.at[reference, column]
    return None if value != value else float(value)


def _speed(record: dict | None, model: str, reference: str) -> str | None:
    """The batch-1 Russian chars/s ratio with its interval, against the speed run's own reference (its first
    model), named when that is not the verdict's: a ratio of two paired ratios would have no interval."""
    if not record:
        return None
    cell = record["ratios"].get(model, {}).get("latency/ru", {}).get("chars_per_s")
    if not cell:
        return None
    against = "the reference's" if record["reference"] == reference else f"{record['reference']}'s"
    return f"{cell['ratio']:.2f} [{cell['low']:.2f}, {cell['high']:.2f}] x {against}"


def _headline_rows(comparison: Comparison) -> list[str]:
    """The rows a verdict speaks of: tasks and groups, but not the total (it restates them)."""
    total = TOTAL[comparison.suite]
    return [r for r in comparison.scores.index if r != total]


def verdicts(comparison: Comparison) -> list[Verdict]:
    """One verdict per candidate against the first reference (the Δ table's)."""
    if not comparison.deltas:
        return []
    reference = comparison.first_reference()
    groups = set(SUITES[comparison.suite])
    out = []
    for (model, ref), deltas in comparison.deltas.items():
        if ref != reference:
            continue
        verdict = Verdict(
            model,
            reference,
            _ratio(comparison.efficiency, model, reference, "ru chars/token"),
            _ratio(comparison.efficiency, model, reference, "en chars/token"),
            _speed(comparison.speed, model, reference),
        )
        for row in _headline_rows(comparison):
            d = deltas.get(row)
            if d is None:
                continue
            if d.significant:
                change = Change(row, d.delta, d.low, d.high, d.p_adjusted)
                gained = d.delta > 0 if higher_is_better(comparison.suite, row) else d.delta < 0
                (verdict.better if gained else verdict.worse).append(change)
            elif row in groups:
                continue
            elif d.n < 2:  # no spread to scale a detectable change from, whatever the items say
                verdict.hopeless.append(row)
            elif d.differing == 0:
                verdict.identical.append(row)
            elif d.detectable >= 1 and higher_is_better(comparison.suite, row):  # a 0-1 score
                verdict.hopeless.append(row)
            elif d.detectable == d.detectable:
                verdict.undetected.append((row, d.detectable))
        out.append(verdict)
    return out
