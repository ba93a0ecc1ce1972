"""Task data: lm-eval `custom_dataset` functions that return {split: Dataset} of uniform docs.

lm-eval calls each as `loader(**metadata, **dataset_kwargs)`; the harness passes `data_dir` (an
absolute path) and `tokenizer` through the TaskManager metadata. Paths are never resolved against the
working directory. Every loader returns docs of one of three shapes, so the YAML templates are shared:

    choice:     query, choices, gold (index), key (PARus item id / MMLU subject)
    generation: query, golds (list), plus task fields (USE variant/id_task/type, copy source, ...)
    extractive: query, choices (candidate sentences), gold_indices
"""

import csv
import json
import os
import random
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import datasets

from tasks_ru.errors import TaskDataError

Docs = dict[str, datasets.Dataset]
MODEL_FIELDS = ("tokenizer", "src_tokens")  # per-model doc fields (copy tasks), left out of the data hash
SPLIT_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


# --- reading -----------------------------------------------------------------------------------


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise TaskDataError(f"task data file not found: {path}")
    try:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as f:
                return list(csv.DictReader(f))
        if path.suffix == ".parquet":
            return datasets.Dataset.from_parquet(str(path)).to_list()
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json" and text.lstrip().startswith("["):
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as e:
        raise TaskDataError(f"cannot parse {path}: {e}") from None


def _split_file(folder: Path, split: str) -> Path:
    for suffix in SPLIT_SUFFIXES:
        if (folder / f"{split}{suffix}").is_file():
            return folder / f"{split}{suffix}"
    raise TaskDataError(f"task data file not found: {folder}/{split}{{{','.join(SPLIT_SUFFIXES)}}}")


def _field(row: dict, name: str, path: Any) -> Any:
    if name not in row:
        raise TaskDataError(f"{path}: a row lacks the field {name!r} (has {sorted(row)})")
    return row[name]


def _dataset(rows: list[dict], source: Any) -> datasets.Dataset:
    if not rows:
        raise TaskDataError(f"{source}: no usable rows")
    return datasets.Dataset.from_list(rows)


def _data_root(data_dir: str | None) -> Path:
    root = data_dir or os.environ.get("LEP_DATA_DIR")
    if not root:
        raise TaskDataError("ru-open needs the offline data folder: pass --data-dir or set LEP_DATA_DIR")
    return Path(root)


# --- Darumeru (hub schema: messages with {placeholders}, inputs, outputs, meta) ------------------


def _hub_or_local(hub_id: str, config: str, splits: Iterable[str], data_dir: str | None) -> dict[str, list[dict]]:
    """Rows per split from `data_dir/<config>/<split>.jsonl` when given, else from the hub."""
    if data_dir:
        folder = Path(data_dir) / config
        return {s: _read_rows(_split_file(folder, s)) for s in splits}
    loaded = datasets.load_dataset(hub_id, config)
    return {s: loaded[s].to_list() for s in splits}


def _render_messages(row: dict, source: str) -> str:
    """The user-side text of a Darumeru row, placeholders filled, a trailing "Ответ:" left to gen_prefix."""
    inputs = _field(row, "inputs", source)
    values = inputs if isinstance(inputs, dict) else {"inputs": inputs}
    parts = []
    for message in _field(row, "messages", source):
        if message.get("role") == "assistant":
            continue
        try:
            parts.append(message["content"].format_map(values))
        except (KeyError, IndexError, ValueError) as e:
            raise TaskDataError(f"{source}: message placeholder {e} not filled by the row's inputs") from None
    text = "\n\n".join(parts).rstrip()
    return re.sub(r"\s*Ответ:\s*$", "", text) + "\n"


DARUMERU_CHOICES = {
    "parus": ["1", "2"],
    "rcb": ["1", "2", "3"],
    "rwsd": ["Да", "Нет"],
    "ruopenbookqa": ["A", "B", "C", "D"],
    "ruworldtree": ["A", "B", "C", "D"],
    "rummlu": ["A", "B", "C", "D"],
}


def _choice_doc(row: dict, choices: list[str], source: str, key: str = "") -> dict:
    gold = str(_field(row, "outputs", source)).strip()
    if gold not in choices:
        raise TaskDataError(f"{source}: answer {gold!r} is not one of {choices}")
    return {"query": _render_messages(row, source), "choices": choices, "gold": choices.index(gold), "key": key}


def _parus_docs(row: dict, index: int, source: str) -> list[dict]:
    """Each PARus item in both option orders, sharing one key, so it counts only if right in both."""
    original = _choice_doc(row, ["1", "2"], source, key=str(index))
    inputs = dict(row["inputs"])
    inputs["choice1"], inputs["choice2"] = inputs.get("choice2"), inputs.get("choice1")
    swapped = _choice_doc({**row, "inputs": inputs, "outputs": "2" if original["gold"] == 0 else "1"}, ["1", "2"], source, key=str(index))
    return [original, swapped]


def _generation_doc(row: dict, source: str) -> dict:
    outputs = _field(row, "outputs", source)
    golds = [str(g) for g in outputs] if isinstance(outputs, list) else [str(outputs)]
    meta = row.get("meta") or {}
    return {
        "query": _render_messages(row, source),
        "golds": golds,
        "variant": str(meta.get("variant", "")),
        "id_task": str(meta.get("id_task", "")),
        "type": str(meta.get("type", "")),
    }


def darumeru(config: str, hub_id: str = "RefalMachine/darumeru", data_dir: str | None = None, tokenizer: str | None = None, max_new_tokens: int = 0, **_: Any) -> Docs:
    """A Darumeru task: `test` is scored, `prompt` holds the few-shot examples."""
    rows = _hub_or_local(hub_id, config, ("test", "prompt"), data_dir)
    out = {}
    for split, split_rows in rows.items():
        source = f"{data_dir or hub_id}/{config}/{split}"
        docs: list[dict] = []
        for i, row in enumerate(split_rows):
            if config == "parus":
                docs += _parus_docs(row, i, source)
            elif config in DARUMERU_CHOICES:
                docs.append(_choice_doc(row, DARUMERU_CHOICES[config], source, key=str((row.get("meta") or {}).get("domain", ""))))
            elif config.startswith("cp_"):
                docs.append(_copy_doc(_generation_doc(row, source)["golds"][0], tokenizer, max_new_tokens, _render_messages(row, source)))
            else:
                docs.append(_generation_doc(row, source))
        out[split] = _dataset(docs, source)
    return out


# --- NLPCoreTeam MMLU (ru / en) ------------------------------------------------------------------


def _mmlu_doc(row: dict, lang: str, source: str) -> dict:
    question = _field(row, f"question_{lang}", source)
    options = list(_field(row, f"choices_{lang}", source))
    letters = ["A", "B", "C", "D"]
    lines = [question] + [f"{letter}. {option}" for letter, option in zip(letters, options)]
    return {"query": "\n".join(lines) + "\n", "choices": letters, "gold": int(_field(row, "answer", source)), "key": str(_field(row, "subject", source))}


def nlpcoreteam_mmlu(lang: str, hub_id: str = "NLPCoreTeam/mmlu_ru", data_dir: str | None = None, **_: Any) -> Docs:
    """57 subjects; local form: `data_dir/mmlu_ru/{test,dev}.jsonl` with a `subject` field per row."""
    from tasks_ru.mmlu_categories import SUBJECTS

    if data_dir:
        rows = {s: _read_rows(_split_file(Path(data_dir) / "mmlu_ru", s)) for s in ("test", "dev")}
    else:
        rows = {"test": [], "dev": []}
        for subject in SUBJECTS:
            loaded = datasets.load_dataset(hub_id, subject)
            for split in rows:
                rows[split] += [{**r, "subject": subject} for r in loaded[split].to_list()]
    return {s: _dataset([_mmlu_doc(r, lang, f"{hub_id}/{s}") for r in split_rows], s) for s, split_rows in rows.items()}


# --- RuCoLA ---------------------------------------------------------------------------------------


def _rucola_doc(row: dict, source: Any) -> dict:
    label = row.get("label", row.get("acceptable"))
    if label is None:
        raise TaskDataError(f"{source}: a row lacks the field 'label' (or 'acceptable')")
    query = f"Предложение: {_field(row, 'sentence', source)}\nКорректно ли это предложение с точки зрения русского языка? 1 — да, 0 — нет.\n"
    return {"query": query, "choices": ["0", "1"], "gold": int(label), "key": ""}


def rucola(hub_id: str = "RussianNLP/rucola", data_dir: str | None = None, local_layout: str = "darumeru", **_: Any) -> Docs:
    """Scored on validation (in-domain dev); shots from train starting at index 29, as llmtf does."""
    if local_layout == "ru-open":
        folder = _data_root(data_dir) / "tasks" / "rucola"
        rows = {"validation": _read_rows(folder / "in_domain_dev.csv"), "train": _read_rows(folder / "in_domain_train.csv")}
    elif data_dir:
        rows = {s: _read_rows(_split_file(Path(data_dir) / "rucola", s)) for s in ("validation", "train")}
    else:
        loaded = datasets.load_dataset(hub_id)
        rows = {s: loaded[s].to_list() for s in ("validation", "train")}
    rows["train"] = rows["train"][29:]
    return {s: _dataset([_rucola_doc(r, s) for r in split_rows], s) for s, split_rows in rows.items()}


# --- Gazeta (DaruSum) -----------------------------------------------------------------------------


def _gazeta_rows(hub_id: str, data_dir: str | None) -> dict[str, list[dict]]:
    return _hub_or_local(hub_id, "gazeta", ("test", "prompt"), data_dir)


def gazeta_abstractive(hub_id: str = "dichspace/daru_treeway_eval", data_dir: str | None = None, **_: Any) -> Docs:
    """Summary of a news text; rows: text, summary (+ sentences, labels for the extractive task)."""
    out = {}
    for split, rows in _gazeta_rows(hub_id, data_dir).items():
        docs = [{"query": f"Текст: {_field(r, 'text', split)}\nНапиши краткую аннотацию этого текста на русском языке.\n", "golds": [_field(r, "summary", split)]} for r in rows]
        out[split] = _dataset(docs, split)
    return out


def gazeta_extractive(hub_id: str = "dichspace/daru_treeway_eval", data_dir: str | None = None, **_: Any) -> Docs:
    """Each source sentence is a candidate; candidates are cut to the shortest one's length in characters."""
    out = {}
    for split, rows in _gazeta_rows(hub_id, data_dir).items():
        docs = []
        for r in rows:
            sentences = [str(s) for s in _field(r, "sentences", split)]
            gold = [int(i) for i in _field(r, "labels", split)]
            if not sentences or not gold or max(gold) >= len(sentences):
                raise TaskDataError(f"{split}: labels {gold} do not index the {len(sentences)} sentences")
            shortest = min(len(s) for s in sentences)
            query = f"Текст: {r['text']}\nНайди самые важные предложения этого текста.\n"
            docs.append({"query": query, "choices": [s[:shortest] for s in sentences], "gold_indices": gold, "gold": gold[0]})
        out[split] = _dataset(docs, split)
    return out


# --- ru-open: local, licence-checked data ---------------------------------------------------------


def terra(data_dir: str | None = None, **_: Any) -> Docs:
    folder = _data_root(data_dir) / "tasks" / "terra"
    labels = {"entailment": 0, "not_entailment": 1}

    def doc(row: dict, source: Path) -> dict:
        label = _field(row, "label", source)
        if label not in labels:
            raise TaskDataError(f"{source}: label {label!r} is not one of {sorted(labels)}")
        query = f"Текст: {_field(row, 'premise', source)}\nГипотеза: {_field(row, 'hypothesis', source)}\nСледует ли гипотеза из текста?\n"
        return {"query": query, "choices": ["Да", "Нет"], "gold": labels[label], "key": ""}

    return {s: _dataset([doc(r, folder / f"{s}.jsonl") for r in _read_rows(folder / f"{s}.jsonl")], folder / s) for s in ("val", "train")}


XWINOGRAD_SHOTS = 15  # the first schemas form the few-shot pool; the rest are scored


def _shots_first(docs: list[dict], n_shots: int, source: object) -> Docs:
    """The first n docs are the few-shot pool, the rest are scored; a small set keeps a third as shots."""
    n = min(n_shots, len(docs) // 3)
    return {"test": _dataset(docs[n:], source), "train": _dataset(docs[:n], source)}


def xwinograd_ru(data_dir: str | None = None, **_: Any) -> Docs:
    path = _data_root(data_dir) / "tasks" / "xwinograd" / "dataset.ru.tsv"
    if not path.is_file():
        raise TaskDataError(f"task data file not found: {path}")
    docs = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            _lang, _src, _, sentence, _tokens, pronoun, candidates = line.split("\t")
            pronoun_text = json.loads(pronoun)[0]
            options = [(c[0], bool(c[3])) for c in json.loads(candidates)]
        except (ValueError, IndexError, json.JSONDecodeError) as e:
            raise TaskDataError(f"{path}:{line_no}: not an XWinograd row ({e})") from None
        if len(options) != 2 or sum(ok for _, ok in options) != 1:
            raise TaskDataError(f"{path}:{line_no}: expected two candidates, one correct")
        query = f"Предложение: {sentence}\nК кому или чему относится «{pronoun_text}»?\n1) {options[0][0]}\n2) {options[1][0]}\n"
        docs.append({"query": query, "choices": ["1", "2"], "gold": 0 if options[0][1] else 1, "key": ""})
    return _shots_first(docs, XWINOGRAD_SHOTS, path)


def rubq(data_dir: str | None = None, **_: Any) -> Docs:
    """Closed-book factoid QA; golds are the answer text and the literal answer values."""
    folder = _data_root(data_dir) / "tasks" / "rubq" / "RuBQ_1.0"

    def doc(row: dict, source: Path) -> dict:
        golds = [str(_field(row, "answer_text", source))]
        golds += [str(a["value"]) for a in row.get("answers", []) if a.get("type") == "literal" and str(a["value"]) not in golds]
        return {"query": f"Вопрос: {_field(row, 'question_text', source)}\n", "golds": golds}

    return {s: _dataset([doc(r, folder / f"RuBQ_1.0_{s}.json") for r in _read_rows(folder / f"RuBQ_1.0_{s}.json")], s) for s in ("test", "dev")}


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise TaskDataError(f"task data file not found: {path}")
    return path.read_text(encoding="utf-8").splitlines()


TRANSLATION_PROMPTS = {
    ("en", "ru"): "Переведи текст с английского языка на русский.\nТекст: {}\n",
    ("ru", "en"): "Переведи текст с русского языка на английский.\nТекст: {}\n",
}


def flores(source_lang: str, target_lang: str, data_dir: str | None = None, **_: Any) -> Docs:
    """FLORES-200 devtest is scored; the few-shot pool is Tatoeba (a separate set of pairs)."""
    root = _data_root(data_dir) / "parallel"
    files = {"en": "eng_Latn.devtest", "ru": "rus_Cyrl.devtest"}
    tatoeba = {"en": "tatoeba-test-v2021-08-07.eng", "ru": "tatoeba-test-v2021-08-07.rus"}
    prompt = TRANSLATION_PROMPTS[(source_lang, target_lang)]

    def pairs(src: list[str], tgt: list[str], source: Path) -> list[dict]:
        if len(src) != len(tgt):
            raise TaskDataError(f"{source}: {len(src)} source lines but {len(tgt)} target lines")
        return [{"query": prompt.format(s), "golds": [t]} for s, t in zip(src, tgt)]

    test = pairs(_lines(root / "flores200-devtest" / files[source_lang]), _lines(root / "flores200-devtest" / files[target_lang]), root / "flores200-devtest")
    shots = pairs(_lines(root / "tatoeba" / tatoeba[source_lang]), _lines(root / "tatoeba" / tatoeba[target_lang]), root / "tatoeba")
    return {"test": _dataset(test, "flores"), "train": _dataset(shots[:200], "tatoeba")}


# --- copy tasks -----------------------------------------------------------------------------------

COPY_PROMPT = "Скопируй текст без изменений.\nТекст: {}\n"


def _copy_doc(source: str, tokenizer: str | None, max_new_tokens: int, query: str | None = None) -> dict:
    """A copy item; the source length in the model's tokens (capped at max_new_tokens) is fixed here."""
    from tasks_ru.token_counts import count_tokens

    src_tokens = min(count_tokens(tokenizer, source), max_new_tokens) if max_new_tokens else count_tokens(tokenizer, source)
    return {"query": query or COPY_PROMPT.format(source), "golds": [source], "source": source, "src_tokens": src_tokens, "tokenizer": tokenizer or ""}


def _wiki_sentences(root: Path, lang: str) -> list[str]:
    name = {"ru": "ru/wiki-leipzig-10k/rus_wikipedia_2021_10K-sentences.txt", "en": "en/wiki-leipzig-10k/eng_wikipedia_2016_10K-sentences.txt"}[lang]
    out = []
    for line in _lines(root / "corpora" / name):
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
            if 200 <= len(paragraph) <= 1200 and paragraph[0].isupper() and paragraph[-1] in ".!?»\"":
                out.append(paragraph)
    if not out:
        raise TaskDataError(f"no prose paragraphs found under {folder}")
    return out


COPY_SIZES = {"sentence": (500, 20), "paragraph": (100, 10)}  # scored items, few-shot pool
COPY_SOURCES: dict[str, Callable[[Path, str], list[str]]] = {"sentence": _wiki_sentences, "paragraph": _paragraphs}


def copy_task(unit: str, lang: str, data_dir: str | None = None, tokenizer: str | None = None, max_new_tokens: int = 0, **_: Any) -> Docs:
    """Deterministic copy set: a seeded sample of local Wikipedia sentences or literature paragraphs."""
    texts = COPY_SOURCES[unit](_data_root(data_dir), lang)
    random.Random(f"copy-{unit}-{lang}").shuffle(texts)
    n_test, n_shots = COPY_SIZES[unit]
    shots = min(n_shots, len(texts) // 3)
    docs = [_copy_doc(t, tokenizer, max_new_tokens) for t in texts[: shots + n_test]]
    return _shots_first(docs, shots, f"copy {unit} {lang}")
