"""The few KB of parallel Russian/English text shipped with lep-bench (written for the project): the tokenizer
bench's and the speed run's text when no corpus is given, and the gate's fixed tokenizer sample."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).with_name("sample_text")
LANGUAGES = ("ru", "en")


def sample_file(lang: str) -> Path:
    """The embedded sample of one language (ru or en); the two files are aligned line by line."""
    return SAMPLE_DIR / f"{lang}.txt"
