"""Streaming corpus reader: formats, normalisation, Gutenberg stripping, caps and bad input."""

import bz2
import gzip
import json
import lzma

import pytest

from lep.corpus import corpus_files, iter_corpus, iter_documents, normalise, require_text, without_latin
from lep.errors import InputError


def test_normalise_is_nfc_with_single_spaces():
    decomposed = "е\u0308лка\t\tи  ёж \n"
    assert normalise(decomposed) == "ёлка и ёж"


def test_folder_streams_every_format_in_sorted_order(tmp_path):
    (tmp_path / "README.txt").write_text("not corpus text\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("первая строка\n\n  вторая   строка \n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "из json"}) + "\n\n", encoding="utf-8")
    (tmp_path / "c.tsv").write_text("1\tиз tsv\n", encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d.conllu").write_text("# sent_id = 1\n# text = из conllu\n1\tиз\n", encoding="utf-8")
    (sub / "ignored.bin").write_bytes(b"\x00")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.txt", "b.jsonl", "c.tsv", "d.conllu"]
    assert list(iter_corpus([tmp_path])) == ["первая строка", "вторая строка", "из json", "из tsv", "из conllu"]


def test_compressed_files_read_as_their_inner_format(tmp_path):
    (tmp_path / "a.txt.xz").write_bytes(lzma.compress("из xz\n".encode()))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress((json.dumps({"text": "из gz"}) + "\n").encode()))
    (tmp_path / "c.tsv.bz2").write_bytes(bz2.compress("1\tиз bz2\n".encode()))
    (tmp_path / "d.bin.gz").write_bytes(gzip.compress(b"not a corpus format"))
    assert [p.name for p in corpus_files(tmp_path)] == ["a.txt.xz", "b.jsonl.gz", "c.tsv.bz2"]
    assert list(iter_corpus([tmp_path])) == ["из xz", "из gz", "из bz2"]
    assert list(iter_documents([tmp_path / "a.txt.xz"])) == ["из xz"]


def test_a_damaged_compressed_file_is_named(tmp_path):
    damaged = tmp_path / "text.txt.xz"
    damaged.write_bytes(lzma.compress("строка\n".encode() * 1000)[:-40])
    with pytest.raises(InputError, match="cannot be decompressed"):
        list(iter_corpus([damaged]))
    plain = tmp_path / "plain.txt.gz"
    plain.write_text("не сжато\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot be decompressed"):
        list(iter_corpus([plain]))


@pytest.mark.parametrize("offset", [20, 60, 200, -12])
def test_a_gzip_file_damaged_anywhere_is_one_clear_error(tmp_path, offset):
    """Flipped bytes in a deflate body surface as zlib.error, a CRC or length error, or bytes that are not UTF-8."""
    text = "".join(f"строка {i} из {i * i % 977}\n" for i in range(3000))
    body = bytearray(gzip.compress(text.encode()))
    for i in range(offset, offset + 8):
        body[i] ^= 0xFF
    damaged = tmp_path / "text.txt.gz"
    damaged.write_bytes(bytes(body))
    with pytest.raises(InputError, match="decompress"):
        list(iter_corpus([damaged]))


def test_gutenberg_header_and_footer_are_stripped(tmp_path):
    book = tmp_path / "pg1.txt"
    book.write_text(
        "The Project Gutenberg eBook of X\nlicence words\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n"
        "Chapter 1\nIt was a dark night.\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nmore licence\n",
        encoding="utf-8",
    )
    assert list(iter_corpus([book])) == ["Chapter 1", "It was a dark night."]


def test_max_chars_stops_the_stream(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"строка {i}\n" for i in range(100)), encoding="utf-8")
    units = list(iter_corpus([corpus], max_chars=20))
    assert units == ["строка 0", "строка 1", "строка 2"]


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        list(iter_corpus([tmp_path / "nope"]))


def test_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no text"):
        require_text([tmp_path])


def test_folder_without_text_files(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"123")
    with pytest.raises(InputError, match="holds no"):
        corpus_files(tmp_path)


def test_binary_file(tmp_path):
    binary = tmp_path / "data.txt"
    binary.write_bytes(b"abc\x00\x00def\n")
    with pytest.raises(InputError, match="looks binary"):
        list(iter_corpus([binary]))


def test_non_utf8_file(tmp_path):
    cp1251 = tmp_path / "old.txt"
    cp1251.write_bytes("Привет\n".encode("cp1251"))
    with pytest.raises(InputError, match="not UTF-8"):
        list(iter_corpus([cp1251]))


def test_jsonl_without_text_field(tmp_path):
    records = tmp_path / "r.jsonl"
    records.write_text('{"body": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 1 has no string field 'text'"):
        list(iter_corpus([records]))


def test_documents_keep_paragraph_breaks_per_format(tmp_path):
    (tmp_path / "a.txt").write_text("  первая   строка\n\n\n\n вторая \tстрока \nтретья\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "абзац один.\r\nабзац  два."}) + "\n", encoding="utf-8")
    (tmp_path / "c.tsv").write_text("1\tиз tsv\n2\tещё\n", encoding="utf-8")
    conllu = (
        "# newdoc id = d1\n# newpar\n# text = Раз.\n1\tРаз\n\n# text = Два.\n\n# newpar\n# text = Три.\n\n"
        "# newdoc\n# text = Четыре.\n"
    )
    (tmp_path / "d.conllu").write_text(conllu, encoding="utf-8")
    assert list(iter_documents([tmp_path])) == [
        "первая строка\n\nвторая строка\nтретья",  # a plain-text file is one document, a line a paragraph
        "абзац один.\nабзац два.",
        "из tsv",
        "ещё",
        "Раз. Два.\nТри.",  # CoNLL-U: sentences of a paragraph joined, paragraphs on lines
        "Четыре.",
    ]


def test_documents_stop_at_a_paragraph_break_after_max_chars(tmp_path):
    (tmp_path / "a.txt").write_text("один два\nтри четыре\nпять шесть\n", encoding="utf-8")
    assert list(iter_documents([tmp_path], max_chars=12)) == ["один два\nтри четыре"]


def test_latin_script_words_go_whole_and_spaces_are_normalised():
    assert without_latin("ООО «Газпром-Neft» и T-34") == "ООО и"
    assert without_latin("  только   русский  текст ") == "только русский текст"
