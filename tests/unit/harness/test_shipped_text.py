"""The real text lep-bench ships: every file named in NOTICE.md with its licence, the training text readable as a
corpus and free of Latin-script words, the held-out FLORES files aligned and absent from the training text."""

import re

from harness.shipped_text import RUSSIAN_TRAINING_TEXT, SHIPPED_DIR, held_out
from lep.corpus import iter_corpus

NOTICE = (SHIPPED_DIR / "NOTICE.md").read_text(encoding="utf-8")


def test_every_shipped_file_is_named_in_the_notice_with_its_source_and_licence():
    sections = {part.splitlines()[0]: part for part in NOTICE.split("\n## ")[1:]}
    assert sections and all("Source:" in text and "Licence:" in text for text in sections.values())
    shipped = [p for p in SHIPPED_DIR.rglob("*") if p.is_file() and p.suffix not in (".py", ".md", ".pyc")]
    for path in shipped:
        named = path.name if path.parent == SHIPPED_DIR else f"{path.parent.name}/"
        assert any(f"`{named}`" in heading for heading in sections), f"{path.name} has no section in NOTICE.md"


def test_the_training_text_reads_as_a_corpus_without_latin_words():
    units = list(iter_corpus([RUSSIAN_TRAINING_TEXT]))
    assert len(units) == 10_000
    assert sum(map(len, units)) > 900_000
    assert not any(re.search("[A-Za-z]", unit) for unit in units)


def test_the_held_out_sample_is_aligned_and_not_trained_on():
    ru, en = (held_out(lang).read_text(encoding="utf-8").splitlines() for lang in ("ru", "en"))
    assert len(ru) == len(en) == 1012
    training = set(iter_corpus([RUSSIAN_TRAINING_TEXT]))
    assert not training & set(ru)
