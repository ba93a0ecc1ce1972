"""Darumeru task files in the hub's own schema, as `datasets` yields the rows (the real data lives only on a hub).

Layout: `DIR/<config>/<split>.jsonl`, one hub row per line. RefalMachine/darumeru rows: `messages`
([user, bot], `{placeholders}` filled from `inputs`; the test rows' bot turn is the open "Ответ:", the
prompt rows' the worked answer), `inputs`, `outputs`, `meta`. dichspace/daru_treeway_eval
(daru_treeway_eval/): src_sents, summary_sents, extractive_summary. NLPCoreTeam/mmlu_ru (one config per
subject: mmlu_ru/<subject>/): question_ru/en, choices_ru/en, answer (class index). RussianNLP/rucola
(rucola/): id, sentence, label, error_type, detailed_source.
"""

import json
from pathlib import Path

from tasks_ru.mmlu_categories import SUBJECTS


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def darumeru_row(user: str, inputs: dict, outputs, split: str, answer: str = "", **meta) -> dict:
    """One RefalMachine/darumeru row; a prompt row's bot turn carries its answer."""
    bot = "Ответ:" if split == "test" else f"Ответ: {answer or outputs}"
    return {
        "instruction": user,
        "inputs": inputs,
        "outputs": outputs,
        "meta": {"id": 0, **meta},
        "messages": [{"role": "user", "content": user}, {"role": "bot", "content": bot}],
    }


CHOICES = {"parus": ["1", "2"], "rcb": ["1", "2", "3"], "rwsd": ["Да", "Нет"]}


def _choice_rows(config: str, split: str, n: int) -> list[dict]:
    answers = CHOICES.get(config, ["A", "B", "C", "D"])
    content = "Задача {premise}.\nВариант 1: {choice1}\nВариант 2: {choice2}"
    return [
        darumeru_row(
            content,
            {"premise": f"номер {i}", "choice1": f"первый {i}", "choice2": f"второй {i}"},
            answers[i % len(answers)],
            split,
            id=i,
            domain="math",
        )
        for i in range(n)
    ]


def _copy_rows(lang: str, split: str, n: int) -> list[dict]:
    text = "Мама мыла раму, а папа читал газету." if lang == "ru" else "The cat sat quietly on the warm mat."
    return [
        darumeru_row("Скопируй текст.\nТекст: {text}", {"text": f"{text} {i}"}, f"{text} {i}", split, id=i)
        for i in range(n)
    ]


def _multiq_rows(split: str, n: int) -> list[dict]:
    outputs = [
        {"label": "passage", "length": 6, "offset": 0, "segment": "в лесу"},
        {"label": "passage", "length": 3, "offset": 2, "segment": "лес"},
    ]
    return [
        darumeru_row(
            "Текст: {support_text}\nВопрос: {question}",
            {"question": f"Где стоит дом {i}?", "support_text": "Дом стоит в лесу."},
            outputs,
            split,
            answer="в лесу",
            id=i,
        )
        for i in range(n)
    ]


USE_ROWS = [
    ("matching", "8", "1,2,3,4,5"),
    ("text", "7", "пример,примеры"),
    ("multiple_choice_independent_options", "16", "1,3"),
]


def _use_rows(split: str) -> list[dict]:
    return [
        darumeru_row(
            "Задание {task}: {text}",
            {"task": t, "text": "ответьте"},
            gold,
            split,
            id=i,
            id_task=t,
            variant=i // 3 + 1,
            type=kind,
        )
        for i, (kind, t, gold) in enumerate(USE_ROWS * 2)
    ]


GAZETA_SENTENCES = [
    "Первое важное предложение.",
    "Второе предложение о погоде.",
    "Третье главное событие.",
    "Четвёртое.",
]


def write_darumeru_fixture(root: Path, n: int = 4) -> Path:
    """Write every Darumeru task's files under `root` (the folder `--data-dir` points at)."""
    for split in ("test", "prompt"):
        for config in ("parus", "rcb", "rwsd", "ruopenbookqa", "ruworldtree", "rummlu"):
            write_rows(root / config / f"{split}.jsonl", _choice_rows(config, split, n))
        write_rows(root / "multiq" / f"{split}.jsonl", _multiq_rows(split, n))
        write_rows(root / "use" / f"{split}.jsonl", _use_rows(split))
        for lang in ("ru", "en"):
            write_rows(root / f"cp_sent_{lang}" / f"{split}.jsonl", _copy_rows(lang, split, n))
            write_rows(root / f"cp_para_{lang}" / f"{split}.jsonl", _copy_rows(lang, split, n))
        gazeta = {
            "src_sents": GAZETA_SENTENCES,
            "summary_sents": ["Главное событие дня.", "Погода хорошая."],
            "extractive_summary": [0, 2],
        }
        write_rows(root / "daru_treeway_eval" / f"{split}.jsonl", [gazeta] * n)
    for i, subject in enumerate(SUBJECTS):
        for split, count in (("test", 1), ("dev", 2)):
            rows = [
                {
                    "question_ru": f"Сколько будет {i}+{j}?",
                    "choices_ru": [str(i), str(i + j), "0", "7"],
                    "question_en": f"What is {i}+{j}?",
                    "choices_en": [str(i), str(i + j), "0", "7"],
                    "answer": 1,
                }
                for j in range(1, count + 1)
            ]
            write_rows(root / "mmlu_ru" / subject / f"{split}.jsonl", rows)
    rucola = [
        {
            "id": i,
            "sentence": f"Предложение номер {i}.",
            "label": i % 2,
            "error_type": "0",
            "detailed_source": "Seliverstova",
        }
        for i in range(40)
    ]
    write_rows(root / "rucola" / "validation.jsonl", rucola[:n])
    write_rows(root / "rucola" / "train.jsonl", rucola)
    return root
