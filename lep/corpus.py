"""Streamed, normalised text from files or folders (.txt, .jsonl, .tsv, CoNLL-U; each may be .gz, .xz or .bz2).

Both the tokenizer metrics and tokenizer training read corpora through this module, so
they see the same text: NFC, whitespace runs collapsed, Project Gutenberg boilerplate
removed, one text unit (line, JSON record, TSV row or CoNLL-U sentence) at a time.
Continued pre-training reads whole documents instead (`iter_documents`), with their paragraph
breaks kept, as the paper's authors trained: a model that never sees a newline is a different model.
"""

import bz2
import gzip
import json
import lzma
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from lep.errors import InputError

CORPUS_SUFFIXES = (".txt", ".jsonl", ".tsv", ".conllu")
COMPRESSIONS: dict[str, Callable[..., IO]] = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
_DOC_FILE = re.compile(r"^(readme|license|licence|manifest|sha256sums|copying)", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
_GUTENBERG_START = re.compile(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG", re.IGNORECASE)
_GUTENBERG_END = re.compile(r"^\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG", re.IGNORECASE)
_GUTENBERG_HEADER_LINES = 400


def normalise(text: str) -> str:
    """NFC and single spaces: the form every metric and trainer sees."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def normalise_document(text: str) -> str:
    """NFC, single spaces inside each line, line breaks kept (blank-line runs as one blank line)."""
    lines = (normalise(line) for line in unicodedata.normalize("NFC", text).splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def corpus_files(path: Path) -> list[Path]:
    """The files a corpus path stands for: the file itself, or a folder's text files in sorted order."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"corpus path {path} does not exist; pass an existing file or folder")
    if path.is_file():
        return [path.resolve()]
    files = sorted(
        p.resolve()
        for p in path.rglob("*")
        if p.is_file() and format_suffix(p) in CORPUS_SUFFIXES and not _DOC_FILE.match(p.name)
    )
    if not files:
        raise InputError(f"corpus folder {path} holds no {'/'.join(CORPUS_SUFFIXES)} files (plain or compressed)")
    return files


def format_suffix(path: Path) -> str:
    """The suffix that names the file's format, under a compression suffix if there is one (a.txt.xz: .txt)."""
    suffixes = [s.lower() for s in path.suffixes]
    return suffixes[-2] if len(suffixes) > 1 and suffixes[-1] in COMPRESSIONS else path.suffix.lower()


def _open(path: Path, mode: str, **text) -> IO:
    """The file, decompressed on the fly when its suffix names a compression."""
    return COMPRESSIONS.get(path.suffix.lower(), open)(path, mode, **text)


def _raw_lines(path: Path) -> Iterator[str]:
    """Lines of a UTF-8 text file, with a clear error for binary or non-UTF-8 content."""
    try:
        with _open(path, "rb") as handle:
            if b"\x00" in handle.read(8192):
                raise InputError(f"{path} looks binary (NUL bytes near the start); pass a UTF-8 text file")
        with _open(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if "\x00" in line:
                    raise InputError(f"{path} looks binary (NUL byte on line {number}); pass a UTF-8 text file")
                yield line
    except UnicodeDecodeError as error:
        if path.suffix.lower() in COMPRESSIONS:  # a damaged archive decompresses to bytes that are not text
            raise InputError(
                f"{path} is not UTF-8 once decompressed (damaged, or another encoding): pass an intact UTF-8 file"
            ) from None
        raise InputError(
            f"{path} is not UTF-8 (bad byte at offset {error.start}); convert it with iconv -t UTF-8"
        ) from None
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
        if path.suffix.lower() not in COMPRESSIONS:
            raise InputError(f"{path} cannot be read ({error})") from None
        raise InputError(f"{path} cannot be decompressed ({error}); pass an intact file or drop its suffix") from None


def _text_units(lines: Iterator[str]) -> Iterator[str]:
    """Plain-text lines with a Project Gutenberg header and footer cut off when present."""
    head = []
    for line in lines:
        head.append(line)
        if len(head) >= _GUTENBERG_HEADER_LINES:
            break
    start = next((i + 1 for i, line in enumerate(head) if _GUTENBERG_START.match(line)), 0)
    for line in [*head[start:], *lines]:
        if _GUTENBERG_END.match(line):
            return
        yield line


def json_lines(path: Path, lines: Iterable[str]) -> Iterator[tuple[int, object]]:
    """(line number, record) for each non-blank line of a JSONL file, naming the line that is not JSON."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{path} line {number} is not valid JSON ({error.msg})") from None


def _jsonl_units(path: Path, lines: Iterator[str]) -> Iterator[str]:
    for number, record in json_lines(path, lines):
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise InputError(f"{path} line {number} has no string field 'text'; each JSONL record needs one")
        yield record["text"]


def _tsv_units(lines: Iterator[str]) -> Iterator[str]:
    """The last column: `id<TAB>sentence` corpora such as Leipzig's."""
    for line in lines:
        yield line.rstrip("\n").rsplit("\t", 1)[-1]


def _conllu_units(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("# text ="):
            yield line.split("=", 1)[1]


def _texts(
    path: Path, conllu: Callable[[Iterator[str]], Iterator[str]], plain: Callable[[Iterator[str]], Iterator[str]]
) -> Iterator[str]:
    """The raw texts of one file by its suffix: JSONL records, TSV rows, CoNLL-U (`conllu`), else plain
    text (`plain`)."""
    lines = _raw_lines(path)
    suffix = format_suffix(path)
    if suffix == ".jsonl":
        return _jsonl_units(path, lines)
    if suffix == ".tsv":
        return _tsv_units(lines)
    return conllu(lines) if suffix == ".conllu" else plain(lines)


def file_units(path: Path) -> Iterator[str]:
    """Normalised, non-empty text units of one file, chosen by its suffix (anything else is plain text)."""
    for unit in _texts(path, _conllu_units, _text_units):
        text = normalise(unit)
        if text:
            yield text


def _conllu_documents(lines: Iterator[str]) -> Iterator[str]:
    """Documents at `# newdoc`, paragraphs at `# newpar` (each sentence one when a file marks none)."""
    paragraphs: list[list[str]] = []
    marked = False
    for line in [*lines, "# newdoc"]:
        if line.startswith("# newdoc"):
            if paragraphs:
                yield "\n".join(" ".join(p) for p in paragraphs if p)
            paragraphs = []
        if line.startswith("# newpar") or (line.startswith("# newdoc") and "newpar" in line):
            marked = True
            paragraphs.append([])
        elif line.startswith("# text ="):
            if marked and paragraphs:
                paragraphs[-1].append(line.split("=", 1)[1].strip())
            else:
                paragraphs.append([line.split("=", 1)[1].strip()])


def file_documents(path: Path) -> Iterator[str]:
    """Normalised, non-empty documents of one file with their paragraph breaks: a plain-text file is
    one document (a line per paragraph), a JSONL record or TSV row is one, CoNLL-U follows its markers."""
    for document in _texts(path, _conllu_documents, lambda lines: iter(["".join(_text_units(lines))])):
        text = normalise_document(document)
        if text:
            yield text


def iter_documents(paths: Iterable[Path], max_chars: int | None = None) -> Iterator[str]:
    """Documents of every file under `paths`; the last is cut at a paragraph break once `max_chars` is reached."""
    total = 0
    for path in (f for p in paths for f in corpus_files(p)):
        for document in file_documents(path):
            if max_chars is not None and total + len(document) >= max_chars:
                kept = []
                for paragraph in document.split("\n"):
                    kept.append(paragraph)
                    total += len(paragraph) + 1
                    if total >= max_chars:
                        break
                yield "\n".join(kept).strip()
                return
            total += len(document)
            yield document


def iter_corpus(paths: Iterable[Path], max_chars: int | None = None) -> Iterator[str]:
    """Text units of every file under `paths`, stopping once `max_chars` characters were yielded."""
    files = [f for path in paths for f in corpus_files(path)]
    total = 0
    for path in files:
        for text in file_units(path):
            yield text
            total += len(text)
            if max_chars is not None and total >= max_chars:
                return


def batched(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lists of up to `size` texts, streamed: the unit batched Rust encoders work on."""
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def require_text(paths: Iterable[Path]) -> None:
    """Fail early, naming the paths, when a corpus holds no text at all."""
    paths = list(paths)
    if next(iter_corpus(paths), None) is None:
        names = ", ".join(str(p) for p in paths)
        raise InputError(f"corpus {names} holds no text; pass files with at least one non-empty line")


LATIN_WORD = re.compile(r"\S*[A-Za-z]\S*")


def without_latin(text: str) -> str:
    """The text without its Latin-script words (any run of non-space holding an ASCII letter), spaces normalised."""
    return " ".join(LATIN_WORD.sub(" ", text).split())
