"""Darumeru task files in the hub schema, written for the tests (the real data lives only on a hub).

Rows: `messages` whose `{placeholders}` are filled from `inputs`, `outputs` (gold), `meta`; each
config has a `test` and a `prompt` (few-shot) split. NLPCoreTeam MMLU, RuCoLA and Gazeta follow
their own hub schemas.
"""

import json
from pathlib import Path


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _row(content: str, inputs: dict, outputs, **meta) -> dict:
    return {"messages": [{"role": "user", "content": content}], "inputs": inputs, "outputs": outputs, "meta": {"id": 0, **meta}}


def _choice_rows(config: str, n: int) -> list[dict]:
    answers = {"parus": ["1", "2"], "rcb": ["1", "2", "3"], "rwsd": ["Да", "Нет"]}.get(config, ["A", "B", "C", "D"])
    content = "Задача {text}.\nВариант 1: {choice1}\nВариант 2: {choice2}\nОтвет:"
    return [_row(content, {"text": f"номер {i}", "choice1": f"первый {i}", "choice2": f"второй {i}"}, answers[i % len(answers)], domain="math") for i in range(n)]


def _copy_rows(lang: str, n: int) -> list[dict]:
    text = "Мама мыла раму, а папа читал газету." if lang == "ru" else "The cat sat quietly on the warm mat."
    return [_row("Скопируй текст: {text}", {"text": f"{text} {i}"}, f"{text} {i}") for i in range(n)]


USE_ROWS = [("matching", "8", "1,2,3,4,5"), ("text", "7", "пример|примеры"), ("multiple_choice_independent_options", "16", "1,3")]


def write_darumeru_fixture(root: Path, n: int = 4) -> Path:
    """Write every Darumeru task's files under `root` (the folder `--data-dir` points at)."""
    for split in ("test", "prompt"):
        for config in ("parus", "rcb", "rwsd", "ruopenbookqa", "ruworldtree", "rummlu"):
            _write(root / config / f"{split}.jsonl", _choice_rows(config, n))
        _write(root / "multiq" / f"{split}.jsonl", [_row("Вопрос: {q}", {"q": f"Где стоит дом {i}?"}, ["в лесу", "лес"]) for i in range(n)])
        _write(
            root / "use" / f"{split}.jsonl",
            [_row("Задание {t}: {text}", {"t": t, "text": "ответьте"}, gold, id_task=t, variant=str(i // 3), type=kind) for i, (kind, t, gold) in enumerate(USE_ROWS * 2)],
        )
        for lang in ("ru", "en"):
            _write(root / f"cp_sent_{lang}" / f"{split}.jsonl", _copy_rows(lang, n))
            _write(root / f"cp_para_{lang}" / f"{split}.jsonl", _copy_rows(lang, n))
        sentences = ["Первое важное предложение.", "Второе предложение о погоде.", "Третье главное событие.", "Четвёртое."]
        _write(root / "gazeta" / f"{split}.jsonl", [{"text": " ".join(sentences), "summary": "Главное событие дня.", "sentences": sentences, "labels": [0, 2]} for _ in range(n)])
    for split in ("test", "dev"):
        rows = [
            {"question_ru": f"Сколько будет {i}+1?", "choices_ru": [str(i), str(i + 1), "0", "7"], "question_en": f"What is {i}+1?",
             "choices_en": [str(i), str(i + 1), "0", "7"], "answer": 1, "subject": subject}
            for i, subject in enumerate(["abstract_algebra", "philosophy", "sociology", "virology"] * (n // 4 + 1))
        ]
        _write(root / "mmlu_ru" / f"{split}.jsonl", rows)
    _write(root / "rucola" / "validation.jsonl", [{"sentence": f"Предложение номер {i}.", "label": i % 2} for i in range(n)])
    _write(root / "rucola" / "train.jsonl", [{"sentence": f"Пример {i}.", "label": i % 2} for i in range(40)])
    return root
