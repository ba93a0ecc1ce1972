"""The few KB of parallel Russian/English text written for lep-bench: the synthetic demo's pretraining text and
the tests' quick text (real text to measure on is harness/shipped_text)."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).with_name("sample_text")
LANGUAGES = ("ru", "en")


def sample_file(lang: str) -> Path:
    """The embedded sample of one language (ru or en); the two files are aligned line by line."""
    return SAMPLE_DIR / f"{lang}.txt"
