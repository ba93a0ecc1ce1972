"""Real text shipped with lep-bench (licences and sources: NOTICE.md beside this file), so that the demo and the
examples show the method on real Russian without a data folder: Russian Wikipedia sentences to train on, and
FLORES-200 devtest (Russian and English) as the held-out sample no tokenizer or training has seen."""

from pathlib import Path

from tasks_ru.data_sources import FLORES_DEVTEST, FLORES_FILES

SHIPPED_DIR = Path(__file__).parent
RUSSIAN_TRAINING_TEXT = SHIPPED_DIR / "russian_wikipedia.txt.xz"


def held_out(lang: str) -> Path:
    """The shipped FLORES-200 devtest file of one language (ru or en); the two are aligned line by line."""
    return SHIPPED_DIR / "flores200-devtest" / FLORES_FILES[lang]


def flores_file(lang: str, data_dir: Path | None) -> Path:
    """FLORES-200 devtest of one language in the data folder when one is given, else the copy shipped here."""
    return data_dir / FLORES_DEVTEST / FLORES_FILES[lang] if data_dir is not None else held_out(lang)
