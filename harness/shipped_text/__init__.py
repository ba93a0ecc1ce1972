"""Real text shipped with lep-bench (licences and sources: NOTICE.md beside this file), so that the demo and the
examples show the method on real Russian without a data folder: Russian Wikipedia sentences to train on, and
FLORES-200 devtest (Russian and English) as the held-out sample no tokenizer or training has seen."""

from pathlib import Path

SHIPPED_DIR = Path(__file__).parent
RUSSIAN_TRAINING_TEXT = SHIPPED_DIR / "russian_wikipedia.txt.xz"
FLORES_FILES = {"ru": "rus_Cyrl.devtest", "en": "eng_Latn.devtest"}


def held_out(lang: str) -> Path:
    """The shipped FLORES-200 devtest file of one language (ru or en); the two are aligned line by line."""
    return SHIPPED_DIR / "flores200-devtest" / FLORES_FILES[lang]
