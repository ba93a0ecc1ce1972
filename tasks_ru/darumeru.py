"""Darumeru task data, read as llmtf (github RefalMachine/llmtf_open at 958750c) reads it.

lm-eval calls each loader as `loader(**metadata, **dataset_kwargs)`; the harness passes `data_dir`,
`tokenizer`, the model `kind` and the `scoring` profile through the task metadata. Rows come from the
hub or from a local mirror of it (rows.py). Every doc has the chat fields of messages.py (`description`,
`query`, `prefix`, `shot_answer`) and then, by task shape:

    choice:     choices, gold (index), key (PARus item id / MMLU subject)
    generation: golds (list), plus task fields (USE variant/id_task/type; copy source, src_tokens, scoring)
    extractive: choices (candidate sentences, cut to one token length), gold_indices
"""

from pathlib import Path
from typing import Any

from tasks_ru.data_sources import DARUMERU_HUB, GAZETA_HUB, MMLU_HUB, RUCOLA_HUB
from tasks_ru.messages import chat_fields, row_turns
from tasks_ru.mmlu_categories import ANSWER_PREFIX, SUBJECTS, headline
from tasks_ru.rows import DEFAULT_KIND, Docs, Row, dataset, read_split
from tasks_ru.token_counts import copy_source_tokens, cut_to_tokens


def _pinned(hub_id: str, hub_revisions: dict[str, str] | None) -> str | None:
    """The hub commit the run pinned for this dataset (the runner resolves and records it)."""
    return (hub_revisions or {}).get(hub_id)


# --- Darumeru (RefalMachine/darumeru: messages, inputs, outputs, meta) --------------------------

DARUMERU_CHOICES = {
    "parus": ["1", "2"],
    "rcb": ["1", "2", "3"],
    "rwsd": ["Да", "Нет"],
    "ruopenbookqa": ["A", "B", "C", "D"],
    "ruworldtree": ["A", "B", "C", "D"],
    "rummlu": ["A", "B", "C", "D"],
}
COPY_MAX_NEW_TOKENS = {"sent": 128, "para": 1024}


def _gold_index(row: Row, config: str, choices: list[str]) -> int:
    """RWSD: the choice the gold answer starts with (llmtf: `y_true.startswith(y_pred)`); else equal."""
    gold = row.get("outputs", str)
    for i, choice in enumerate(choices):
        if gold == choice or (config == "rwsd" and gold.startswith(choice)):
            return i
    raise row.fail(f"field 'outputs' {gold!r} is not one of {choices}")


def _choice_doc(row: Row, config: str, kind: str, inputs: dict | None = None, gold: int | None = None) -> dict:
    choices = DARUMERU_CHOICES[config]
    key = str(row.get("meta.id")) if config == "parus" else str((row.data.get("meta") or {}).get("domain", ""))
    return {
        **row_turns(row, kind, inputs),
        "choices": choices,
        "gold": _gold_index(row, config, choices) if gold is None else gold,
        "key": key,
    }


def _parus_docs(row: Row, kind: str) -> list[dict]:
    """Each PARus item also with its options swapped and the gold flipped; both share the item id."""
    original = _choice_doc(row, "parus", kind)
    inputs = dict(row.get("inputs", dict))
    inputs["choice1"], inputs["choice2"] = row.get("inputs.choice2", str), row.get("inputs.choice1", str)
    return [
        {**original, "order": "original"},
        {**_choice_doc(row, "parus", kind, inputs, 1 - original["gold"]), "order": "swapped"},
    ]


def _generation_doc(row: Row, config: str, kind: str) -> dict:
    if config == "multiq":
        answers = row.get("outputs", list)
        if not answers or not all(isinstance(a, dict) and isinstance(a.get("segment"), str) for a in answers):
            raise row.fail("field 'outputs' should be a non-empty list of {'segment': a string, ...}")
        return {**row_turns(row, kind), "golds": [a["segment"] for a in answers]}
    if config == "use":
        return {
            **row_turns(row, kind),
            "golds": [row.get("outputs", str)],
            "variant": str(row.get("meta.variant")),
            "id_task": str(row.get("meta.id_task")),
            "type": str(row.get("meta.type", str)),
        }
    raise ValueError(f"no Darumeru generation task {config!r}")


def _copy_doc(row: Row, config: str, kind: str, tokenizer: str | None, scoring: str) -> dict:
    source = row.get("inputs.text", str)
    limit = COPY_MAX_NEW_TOKENS[config.split("_")[1]]
    return {
        **row_turns(row, kind),
        "golds": [source],
        "source": source,
        "src_tokens": copy_source_tokens(tokenizer, source, limit),
        "tokenizer": tokenizer or "",
        "scoring": scoring,
    }


def darumeru_config(
    config: str,
    hub_id: str = DARUMERU_HUB,
    hub_revisions: dict[str, str] | None = None,
    data_dir: str | None = None,
    tokenizer: str | None = None,
    kind: str = DEFAULT_KIND,
    scoring: str = "authors",
    **_: Any,
) -> Docs:
    """A Darumeru task: `test` is scored, `prompt` holds the few-shot examples."""
    out = {}
    for split in ("test", "prompt"):
        docs: list[dict] = []
        for row in read_split(hub_id, config, split, data_dir, _pinned(hub_id, hub_revisions)):
            if config == "parus":
                docs += _parus_docs(row, kind)
            elif config in DARUMERU_CHOICES:
                docs.append(_choice_doc(row, config, kind))
            elif config.startswith("cp_"):
                docs.append(_copy_doc(row, config, kind, tokenizer, scoring))
            else:
                docs.append(_generation_doc(row, config, kind))
        out[split] = dataset(docs)
    return out


# --- NLPCoreTeam MMLU (ru / en): one hub config per subject ----------------------------------------

MMLU_LETTERS = ["A", "B", "C", "D"]
MMLU_SHOTS = 5


def _mmlu_doc(row: Row, subject: str, lang: str, kind: str) -> dict:
    options = row.get(f"choices_{lang}", list)
    answer = row.get("answer", int)
    if len(options) != 4 or not 0 <= answer < 4:
        raise row.fail(
            f"expected 4 options in 'choices_{lang}' and 'answer' 0-3, got {len(options)} options and {answer}"
        )
    text = "\n".join(
        [row.get(f"question_{lang}", str)] + [f"{letter}. {option}" for letter, option in zip(MMLU_LETTERS, options)]
    )
    bot = f"{ANSWER_PREFIX[lang]} {MMLU_LETTERS[answer]}"
    return {
        **chat_fields(text, bot, kind),
        "prefix": ANSWER_PREFIX[lang],
        "choices": MMLU_LETTERS,
        "gold": answer,
        "key": subject,
    }


def nlpcoreteam_mmlu(
    lang: str,
    hub_id: str = MMLU_HUB,
    hub_revisions: dict[str, str] | None = None,
    data_dir: str | None = None,
    kind: str = DEFAULT_KIND,
    **_: Any,
) -> Docs:
    """57 subjects; each test doc carries its subject's first dev rows as `shots`, the first with the headline."""
    folder = str(Path(data_dir) / "mmlu_ru") if data_dir else None
    docs = []
    for subject in SUBJECTS:
        shots = [
            _mmlu_doc(r, subject, lang, kind)
            for r in read_split(hub_id, subject, "dev", folder, _pinned(hub_id, hub_revisions))[:MMLU_SHOTS]
        ]
        if shots:
            shots[0] = {**shots[0], "query": headline(subject, lang) + shots[0]["query"]}
        docs += [
            {**_mmlu_doc(r, subject, lang, kind), "shots": shots}
            for r in read_split(hub_id, subject, "test", folder, _pinned(hub_id, hub_revisions))
        ]
    return {"test": dataset(docs)}


# --- RuCoLA ------------------------------------------------------------------------------------------

RUCOLA_PROMPT = (
    "Твоя задача определить приемлемость текста для русского языка с точки зрения синтаксиса, морфологии и семантики. "
    "Ответом должно служить одно число: 0 или 1, где 0 - предложение не приемлемо с точки зрения русского "
    "языка, 1 - приемлемо."
    "\nТекст: {}"
)
RUCOLA_SHOTS_FROM = 29  # llmtf: the train rows after index 29 are balanced in labels


def rucola_splits(rows: dict[str, list[Row]], label_field: str, kind: str) -> Docs:
    """RuCoLA docs from its validation (scored) and train rows; shots from train index 29 on, as llmtf takes them."""
    rows = {**rows, "train": rows["train"][RUCOLA_SHOTS_FROM:]}
    return {
        split: dataset([_rucola_doc(r, label_field, kind) for r in split_rows]) for split, split_rows in rows.items()
    }


def _rucola_doc(row: Row, label_field: str, kind: str) -> dict:
    label = str(row.get(label_field, (int, str)))
    if label not in ("0", "1"):
        raise row.fail(f"field {label_field!r} should be 0 or 1, not {label!r}")
    return {
        **chat_fields(RUCOLA_PROMPT.format(row.get("sentence", str)), f"Ответ: {label}", kind),
        "prefix": "Ответ:",
        "choices": ["0", "1"],
        "gold": int(label),
        "key": "",
    }


def rucola(
    hub_id: str = RUCOLA_HUB,
    hub_revisions: dict[str, str] | None = None,
    data_dir: str | None = None,
    kind: str = DEFAULT_KIND,
    **_: Any,
) -> Docs:
    """Scored on validation (in-domain dev), from the hub or its local mirror."""
    rows = {
        s: read_split(hub_id, "rucola", s, data_dir, _pinned(hub_id, hub_revisions)) for s in ("validation", "train")
    }
    return rucola_splits(rows, "label", kind)


# --- Gazeta (DaruSum: dichspace/daru_treeway_eval) ----------------------------------------------------

GAZETA = "daru_treeway_eval"
SUMMARY_PROMPT = "Напиши краткую аннотацию на русском языке к следующему тексту.\nТекст: {}"
EXTRACTIVE_PROMPT = "Твоя задача определить наиболее важные предложения.\nТекст: {}"
EXTRACTIVE_PREFIX = "Наиболее важные предложения статьи: "
EXTRACTIVE_MAX_DOCS = 500  # llmtf scores the first 500 test documents


def _sentences(row: Row, field: str) -> list[str]:
    value = row.get(field, list)
    if not value or not all(isinstance(s, str) for s in value):
        raise row.fail(f"field {field!r} should be a non-empty list of strings")
    return value


def gazeta_abstractive(
    hub_id: str = GAZETA_HUB,
    hub_revisions: dict[str, str] | None = None,
    data_dir: str | None = None,
    kind: str = DEFAULT_KIND,
    **_: Any,
) -> Docs:
    """Summary of a news text: the source and gold summary are the joined `src_sents` / `summary_sents`."""
    out = {}
    for split in ("test", "prompt"):
        docs = []
        for r in read_split(hub_id, GAZETA, split, data_dir, _pinned(hub_id, hub_revisions)):
            summary = " ".join(_sentences(r, "summary_sents"))
            docs.append(
                {
                    **chat_fields(
                        SUMMARY_PROMPT.format(" ".join(_sentences(r, "src_sents"))), f"TL;DR: {summary}", kind
                    ),
                    "prefix": "TL;DR:",
                    "golds": [summary],
                }
            )
        out[split] = dataset(docs)
    return out


def gazeta_extractive(
    hub_id: str = GAZETA_HUB,
    hub_revisions: dict[str, str] | None = None,
    data_dir: str | None = None,
    tokenizer: str | None = None,
    kind: str = DEFAULT_KIND,
    **_: Any,
) -> Docs:
    """Each source sentence is a candidate answer turn; zero-shot; the first 500 documents."""
    docs = []
    for r in read_split(hub_id, GAZETA, "test", data_dir, _pinned(hub_id, hub_revisions))[:EXTRACTIVE_MAX_DOCS]:
        sentences = _sentences(r, "src_sents")
        gold = r.get("extractive_summary", list)
        if not gold or not all(isinstance(i, int) and 0 <= i < len(sentences) for i in gold):
            raise r.fail(f"field 'extractive_summary' {gold} should list indices of the {len(sentences)} sentences")
        candidates = cut_to_tokens(tokenizer, EXTRACTIVE_PREFIX, sentences)
        fields = chat_fields(EXTRACTIVE_PROMPT.format(" ".join(sentences)), "", kind)
        docs.append(
            {
                **fields,
                "prefix": EXTRACTIVE_PREFIX.rstrip(),
                "choices": candidates,
                "gold_indices": sorted(set(gold)),
                "gold": gold[0],
            }
        )
    return {"test": dataset(docs)}
