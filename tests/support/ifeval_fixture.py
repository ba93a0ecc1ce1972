"""A data folder holding IFEval files where ru_ifeval and en_ifeval read them (`<root>/tasks/ifeval-arena/`): one
prompt per group of the hand-made cases (tests/unit/tasks_ru/ifeval_cases.yaml), so every instruction id appears
in both languages, and one prompt with two instructions."""

import json
from pathlib import Path

import yaml

from tasks_ru.ifeval import FILES, FOLDER

CASES = Path(__file__).resolve().parents[1] / "unit" / "tasks_ru" / "ifeval_cases.yaml"


def case_groups() -> list[dict]:
    """The hand-made cases: each group an instruction id, a language, its kwargs and [strict, loose, response]s."""
    return yaml.safe_load(CASES.read_text(encoding="utf-8"))


def fixture_rows(lang: str) -> list[dict]:
    """IFEval rows of one language made from the case groups (a repeat_prompt row's prompt is the one to repeat)."""
    groups = [g for g in case_groups() if g["lang"] == lang]
    rows = [
        {
            "key": i,
            "prompt": g["kwargs"].get("prompt_to_repeat", f"Задание {i}: ответьте."),
            "instruction_id_list": [g["id"]],
            "kwargs": [g["kwargs"]],
        }
        for i, g in enumerate(groups)
    ]
    pair = groups[:2]
    rows.append(
        {
            "key": len(rows),
            "prompt": "Two instructions.",
            "instruction_id_list": [g["id"] for g in pair],
            "kwargs": [g["kwargs"] for g in pair],
        }
    )
    return rows


def write_ifeval_fixture(root: Path, rows: dict[str, list] | None = None) -> Path:
    """Both files under root (`rows` replaces a language's rows: objects, or raw lines as strings); returns root."""
    folder = root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for lang, name in FILES.items():
        chosen = (rows or {}).get(lang, fixture_rows(lang))
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in chosen]
        (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return root
