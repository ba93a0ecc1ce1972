"""The held-out sentences `adapt check` reads: FLORES-200 devtest (Russian and English, one sentence a line) from
the data folder, else the copy lep-bench ships (harness/shipped_text), or any one-sentence-a-line file per
language. No tokenizer or training text of lep-bench comes from FLORES, so a model has seen none of it. The first
`shots` lines are the copy prompt's examples, the next `sentences` lines are scored, all of at most MAX_CHARS
characters."""

from dataclasses import dataclass
from pathlib import Path

from harness.shipped_text import flores_file
from lep.errors import LepError

LANGUAGES = ("ru", "en")
MAX_CHARS = 200  # longer sentences are left out: a copy tests reading, and a 300-character one costs 3 minutes


@dataclass(frozen=True)
class HeldOut:
    """One language's copy examples and scored sentences."""

    shots: list[str]
    sentences: list[str]


def held_out_files(data_dir: Path | None, given: dict[str, Path]) -> dict[str, Path]:
    """Each language's file: the one given, else FLORES devtest in `data_dir`, else the shipped FLORES devtest."""
    files = dict(given)
    for lang in LANGUAGES:
        if lang not in files:
            files[lang] = flores_file(lang, data_dir)
    unknown = sorted(set(files) - set(LANGUAGES))
    if unknown:
        raise LepError(f"--held-out {unknown[0]}=...: the check reads {' and '.join(LANGUAGES)} only")
    return files


def read_held_out(files: dict[str, Path], shots: int, sentences: int, max_chars: int = MAX_CHARS) -> dict[str, HeldOut]:
    """`shots` + `sentences` non-empty lines of at most `max_chars` characters of each file, or one error naming
    the file that is short or missing."""
    held: dict[str, HeldOut] = {}
    for lang, path in files.items():
        if not path.is_file():
            raise LepError(f"held-out {lang} file {path} not found: give --held-out {lang}=FILE or --data-dir")
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line and len(line) <= max_chars]
        if len(lines) < shots + sentences:
            raise LepError(
                f"{path} has {len(lines)} sentences of at most {max_chars} characters, and the check needs {shots} "
                f"examples + {sentences} scored: lower --sentences, raise --max-chars or give a longer file"
            )
        held[lang] = HeldOut(lines[:shots], lines[shots : shots + sentences])
    return held
