"""Russian training text for a vocabulary extension: every word with a Latin letter removed.

`extend` puts all of the Russian BPE's merges ahead of the base's. Russian text quotes English words, so a
Russian BPE of a few thousand entries or more learns Latin merges too, and those then outrank the base's
English merges: on SmolLM2 (49k vocabulary), a 16k extension trained on raw Russian text cut English
characters/token on FLORES to 0.78x of the base; trained on this text it keeps 1.02x (docs/log.md).

The text is a stage of its own (lep/stage_record.py), keyed by its sources and length: written again, and
everything trained on it rebuilt, whenever either changes (a demo run with LEP_DATA_DIR after one without).
"""

from collections.abc import Callable
from pathlib import Path

from lep.atomic_write import write_text
from lep.corpus import iter_corpus, require_text, without_latin
from lep.stage_record import StageInputs, run_stage

CORPUS_FILE = "russian.txt"


def write_russian_corpus(paths: list[Path], out: Path, max_chars: int | None = None) -> Path:
    """`out`: the normalised units of `paths` (up to max_chars) without Latin-script words, one per line."""
    require_text(paths)
    lines = (without_latin(unit) for unit in iter_corpus(paths, max_chars))
    write_text(out, "".join(f"{line}\n" for line in lines if line))
    return out


def russian_corpus(paths: list[Path], folder: Path, max_chars: int | None, say: Callable[[str], None]) -> Path:
    """`folder`/russian.txt made from `paths` (reused while its sources and settings are unchanged); its path."""
    out = folder / CORPUS_FILE
    inputs = StageInputs(
        "russian-corpus", {"max_chars": max_chars, "latin_words": "removed"}, {"sources": [str(p) for p in paths]}
    )
    run_stage(folder, inputs, lambda: write_russian_corpus(paths, out, max_chars), say)
    return out
