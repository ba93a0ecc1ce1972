"""The paper's published Darumeru rows (Tables 1-4 of Tikhomirov & Chernyshev 2024), shown beside measured scores
in a report and never used in its statistics. The rows are reference_scores.csv beside this file."""

import csv
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

SCORES_FILE = Path(__file__).with_name("reference_scores.csv")
PUBLISHED_CITATION = (
    "Tikhomirov & Chernyshev 2024, Facilitating large language model Russian adaptation with Learned Embedding "
    "Propagation, arXiv:2412.21140"
)
PUBLISHED_COLUMNS = {
    "micro_avg": "Micro-Avg",
    "daru_mmlu": "DaruMMLU",
    "daru_mera": "DaruMERA",
    "daru_sum": "DaruSum",
    "daru_copy_en": "DaruCopy EN",
    "daru_copy_ru": "DaruCopy RU",
}


@cache
def _published_table() -> tuple[dict[str, str], ...]:
    lines = [line for line in SCORES_FILE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return tuple(csv.DictReader(lines))


def published_tables() -> list[str]:
    """The names `published:` / `--published` accept (the paper's tables in reference_scores.csv)."""
    return sorted({row["source"] for row in _published_table()})


def published_rows(tables: list[str]) -> "pd.DataFrame":
    """The rows of the named tables, labelled by model, vocabulary and method, with the paper's column names."""
    import pandas as pd

    rows = [r for r in _published_table() if r["source"] in tables]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["label"] = frame.apply(
        lambda r: " ".join(
            x
            for x in (r["model"], r["vocab"], r["method_or_data"])
            if x not in ("original", "-", "–", "Original model")
        ),
        axis=1,
    )
    frame = frame.rename(columns=PUBLISHED_COLUMNS)
    return frame[["source", "label", "shots", *PUBLISHED_COLUMNS.values()]]
