"""The held-out sentences `adapt check` reads: examples first, then the scored ones, none over the length cap."""

from pathlib import Path

import pytest

from harness.adapt_check.held_out import read_held_out
from lep.errors import LepError


def _files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for lang in ("ru", "en"):
        files[lang] = tmp_path / f"{lang}.txt"
        files[lang].write_text("\n".join(["a" * 5, "b" * 30, "", "c" * 8, "d" * 12, "e" * 9]) + "\n", encoding="utf-8")
    return files


def test_sentences_over_the_cap_and_empty_lines_are_left_out(tmp_path):
    held = read_held_out(_files(tmp_path), shots=1, sentences=3, max_chars=12)
    assert held["ru"].shots == ["a" * 5] and held["ru"].sentences == ["c" * 8, "d" * 12, "e" * 9]


def test_a_file_short_of_sentences_under_the_cap_names_the_flags(tmp_path):
    with pytest.raises(LepError, match=r"3 sentences of at most 10 characters.*raise --max-chars"):
        read_held_out(_files(tmp_path), shots=1, sentences=3, max_chars=10)
