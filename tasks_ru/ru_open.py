"""ru-open task data: local, licence-checked files under the data folder (../shared/data or LEP_DATA_DIR).

Docs have the same fields as the Darumeru ones (darumeru.py), the answer turn labelled "Ответ:", so the
same templates, hooks and metrics serve both suites.
"""

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks_ru.darumeru import rucola_splits
from tasks_ru.data_sources import FLORES_DEVTEST, FLORES_FILES, data_root
from tasks_ru.errors import TaskDataError
from tasks_ru.messages import chat_fields
from tasks_ru.rows import DEFAULT_KIND, Docs, dataset, read_lines, read_local_rows
from tasks_ru.token_counts import copy_source_tokens


def _turn(question: str, answer: str, kind: str, label: str = "Ответ:") -> dict[str, str]:
    return {**chat_fields(question, f"{label} {answer}", kind), "prefix": label}


def terra(data_dir: str | None = None, kind: str = DEFAULT_KIND, **_: Any) -> Docs:
    folder = data_root(data_dir) / "tasks" / "terra"
    labels = {"entailment": 0, "not_entailment": 1}
    choices = ["Да", "Нет"]
    out = {}
    for split in ("val", "train"):
        docs = []
        for row in read_local_rows(folder / f"{split}.jsonl"):
            label = row.get("label", str)
            if label not in labels:
                raise row.fail(f"field 'label' {label!r} is not one of {sorted(labels)}")
            question = (
                f"Текст: {row.get('premise', str)}\nГипотеза: {row.get('hypothesis', str)}\n"
                "Следует ли гипотеза из текста?"
            )
            docs.append(
                {**_turn(question, choices[labels[label]], kind), "choices": choices, "gold": labels[label], "key": ""}
            )
        out[split] = dataset(docs)
    return out


def rucola(data_dir: str | None = None, kind: str = DEFAULT_KIND, **_: Any) -> Docs:
    """RuCoLA's in-domain dev (scored) and train files, built into docs as Darumeru's RuCoLA is."""
    folder = data_root(data_dir) / "tasks" / "rucola"
    rows = {
        "validation": read_local_rows(folder / "in_domain_dev.csv"),
        "train": read_local_rows(folder / "in_domain_train.csv"),
    }
    return rucola_splits(rows, "acceptable", kind)


XWINOGRAD_SHOTS = 15  # the first schemas form the few-shot pool; the rest are scored


def _shots_first(docs: list[dict], n_shots: int) -> Docs:
    """The first n docs are the few-shot pool, the rest are scored; a small set keeps a third as shots."""
    n = min(n_shots, len(docs) // 3)
    return {"test": dataset(docs[n:]), "train": dataset(docs[:n])}


def xwinograd_ru(data_dir: str | None = None, kind: str = DEFAULT_KIND, **_: Any) -> Docs:
    path = data_root(data_dir) / "tasks" / "xwinograd" / "dataset.ru.tsv"
    docs = []
    for line_no, line in enumerate(read_lines(path), 1):
        try:
            _lang, _src, _label, sentence, _tokens, pronoun, candidates = line.split("\t")
            pronoun_text = json.loads(pronoun)[0]
            options = [(c[0], bool(c[3])) for c in json.loads(candidates)]
        except (ValueError, IndexError, json.JSONDecodeError) as e:
            raise TaskDataError(f"{path}:{line_no}: not an XWinograd row ({e})") from None
        if len(options) != 2 or sum(ok for _, ok in options) != 1:
            raise TaskDataError(f"{path}:{line_no}: expected two candidates, one correct")
        gold = 0 if options[0][1] else 1
        question = (
            f"Предложение: {sentence}\nК кому или чему относится «{pronoun_text}»?\n"
            f"1) {options[0][0]}\n2) {options[1][0]}"
        )
        docs.append({**_turn(question, str(gold + 1), kind), "choices": ["1", "2"], "gold": gold, "key": ""})
    return _shots_first(docs, XWINOGRAD_SHOTS)


def rubq(data_dir: str | None = None, kind: str = DEFAULT_KIND, **_: Any) -> Docs:
    """Closed-book factoid QA; golds are the answer text and the literal answer values."""
    folder = data_root(data_dir) / "tasks" / "rubq" / "RuBQ_1.0"
    out = {}
    for split in ("test", "dev"):
        docs = []
        for row in read_local_rows(folder / f"RuBQ_1.0_{split}.json"):
            golds = [str(row.get("answer_text"))]
            golds += [
                str(a["value"])
                for a in row.data.get("answers", [])
                if a.get("type") == "literal" and str(a["value"]) not in golds
            ]
            docs.append({**_turn(f"Вопрос: {row.get('question_text', str)}", golds[0], kind), "golds": golds})
        out[split] = dataset(docs)
    return out


TRANSLATION_PROMPTS = {
    ("en", "ru"): "Переведи текст с английского языка на русский.\nТекст: {}",
    ("ru", "en"): "Переведи текст с русского языка на английский.\nТекст: {}",
}


def flores(source_lang: str, target_lang: str, data_dir: str | None = None, kind: str = DEFAULT_KIND, **_: Any) -> Docs:
    """FLORES-200 devtest is scored; the few-shot pool is Tatoeba (a separate set of pairs)."""
    root = data_root(data_dir)
    tatoeba = {"en": "tatoeba-test-v2021-08-07.eng", "ru": "tatoeba-test-v2021-08-07.rus"}
    prompt = TRANSLATION_PROMPTS[(source_lang, target_lang)]

    def pairs(folder: Path, names: dict[str, str]) -> list[dict]:
        src, tgt = read_lines(folder / names[source_lang]), read_lines(folder / names[target_lang])
        if len(src) != len(tgt):
            raise TaskDataError(f"{folder}: {len(src)} source lines but {len(tgt)} target lines")
        return [{**_turn(prompt.format(s), t, kind, "Перевод:"), "golds": [t]} for s, t in zip(src, tgt)]

    return {
        "test": dataset(pairs(root / FLORES_DEVTEST, FLORES_FILES)),
        "train": dataset(pairs(root / "parallel" / "tatoeba", tatoeba)[:200]),
    }


COPY_PROMPT = "Скопируй текст без изменений.\nТекст: {}"
COPY_MAX_NEW_TOKENS = {"sentence": 128, "paragraph": 1024}


def _wiki_sentences(root: Path, lang: str) -> list[str]:
    name = {
        "ru": "ru/wiki-leipzig-10k/rus_wikipedia_2021_10K-sentences.txt",
        "en": "en/wiki-leipzig-10k/eng_wikipedia_2016_10K-sentences.txt",
    }[lang]
    out = []
    for line in read_lines(root / "corpora" / name):
        sentence = line.partition("\t")[2].strip()
        if 60 <= len(sentence) <= 300 and sentence[0].isupper() and sentence[-1] in ".!?":
            out.append(sentence)
    return out


def _paragraphs(root: Path, lang: str) -> list[str]:
    """Prose paragraphs of 200-1200 characters, whitespace joined, Gutenberg header/footer dropped."""
    folder = root / "corpora" / ("ru/ruslit/prose" if lang == "ru" else "en/gutenberg")
    out = []
    for path in sorted(folder.rglob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        start, end = text.find("*** START OF"), text.find("*** END OF")
        if start >= 0 and end > start:
            text = text[text.find("\n", start) : end]
        for block in re.split(r"\n\s*\n", text):
            paragraph = " ".join(block.split())
            if 200 <= len(paragraph) <= 1200 and paragraph[0].isupper() and paragraph[-1] in '.!?»"':
                out.append(paragraph)
    if not out:
        raise TaskDataError(f"no prose paragraphs found under {folder}")
    return out


COPY_SIZES = {"sentence": (500, 20), "paragraph": (100, 10)}  # scored items, few-shot pool
COPY_SOURCES: dict[str, Callable[[Path, str], list[str]]] = {"sentence": _wiki_sentences, "paragraph": _paragraphs}


def copy_task(
    unit: str,
    lang: str,
    data_dir: str | None = None,
    tokenizer: str | None = None,
    kind: str = DEFAULT_KIND,
    scoring: str = "strict",
    **_: Any,
) -> Docs:
    """Deterministic copy set: a seeded sample of local Wikipedia sentences or literature paragraphs."""
    texts = COPY_SOURCES[unit](data_root(data_dir), lang)
    random.Random(f"copy-{unit}-{lang}").shuffle(texts)
    n_test, n_shots = COPY_SIZES[unit]
    shots = min(n_shots, len(texts) // 3)
    limit = COPY_MAX_NEW_TOKENS[unit]
    docs = [
        {
            **_turn(COPY_PROMPT.format(t), t, kind),
            "golds": [t],
            "source": t,
            "src_tokens": copy_source_tokens(tokenizer, t, limit),
            "tokenizer": tokenizer or "",
            "scoring": scoring,
        }
        for t in texts[: shots + n_test]
    ]
    return _shots_first(docs, shots)
