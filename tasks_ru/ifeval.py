"""ruIFEval and enIFEval (llmtf_open 504bd7f, `llmtf/tasks/ifeval/`): the prompts from the data folder, and each
response scored per instruction, strict and loose, at prompt and instruction level.

The 541 prompts per language are read from `<data>/tasks/ifeval-arena/`; every instruction id and its kwargs are
checked against the checkers (ifeval_checks.py) when the docs are built, so bad data stops a run before any model
answers. Loose is Google's IFEval upper bound: an instruction also passes when the response without its first line,
its last line or both, each also with every `*` removed, passes. Under `--generation paper` a prompt has several
samples (the authors' 5 at temperature 0.3): an instruction counts as followed when more than half of them follow
it, and a blank sample follows nothing.
"""

from typing import Any

from tasks_ru.data_sources import data_root
from tasks_ru.ifeval_checks import INSTRUCTIONS, LANGUAGES, follows, kwargs_problem
from tasks_ru.messages import chat_fields
from tasks_ru.rows import DEFAULT_KIND, Docs, Row, dataset, read_local_rows

FOLDER = "tasks/ifeval-arena"  # under the data folder (data_sources.TASK_DATA names the same files)
FILES = {"ru": "ruIFEval_v0.1.jsonl", "en": "enIFEval.jsonl"}


def _doc(row: Row, lang: str, kind: str) -> dict[str, Any]:
    """One prompt as its doc: the row's fields as in the file, the chat turn, and its language."""
    prompt = row.get("prompt", str)
    instructions = row.get("instruction_id_list", list)
    kwargs = row.get("kwargs", list)
    if not instructions or len(kwargs) != len(instructions):
        raise row.fail(
            f"field 'instruction_id_list' has {len(instructions)} instructions and field 'kwargs' {len(kwargs)} "
            "objects: one per instruction, at least one"
        )
    for i, (instruction, given) in enumerate(zip(instructions, kwargs)):
        if not isinstance(instruction, str) or instruction not in INSTRUCTIONS:
            raise row.fail(
                f"field 'instruction_id_list' item {i} {instruction!r:.60} is not one of IFEval's "
                f"{len(INSTRUCTIONS)} instruction ids"
            )
        if problem := kwargs_problem(instruction, given):
            raise row.fail(f"field 'kwargs' item {i} ({instruction}) {problem}")
    return {
        **chat_fields(prompt, "", kind),
        "key": row.get("key", int),
        "prompt": prompt,
        "instruction_id_list": instructions,
        "kwargs": kwargs,
        "lang": lang,
    }


def load(lang: str, data_dir: str | None = None, kind: str = DEFAULT_KIND, **_: Any) -> Docs:
    """Every prompt of the language's file, scored zero-shot as the authors run it."""
    rows = read_local_rows(data_root(data_dir) / FOLDER / FILES[lang])
    return {"test": dataset([_doc(row, lang, kind) for row in rows])}


def responses(resps: list[list[str]], docs: list[dict]) -> list[str | list[str]]:
    """lm-eval filter keeping every sample of a prompt (its default keeps the first): one answer as itself,
    several (a task repeated under `--generation paper`) as their list."""
    return [r[0] if len(r) == 1 else list(r) for r in resps]


def loose_variants(response: str) -> list[str]:
    """The response and what Google's loose accuracy also tries: without the first, the last or both lines, and
    each of the four with every `*` removed."""
    lines = response.split("\n")
    cut = [response] + ["\n".join(part).strip() for part in (lines[1:], lines[:-1], lines[1:-1])]
    return cut + [text.replace("*", "") for text in cut]


def _majority(votes: list[bool]) -> bool:
    return sum(votes) > len(votes) / 2


def process_results(doc: dict, results: list) -> dict[str, Any]:
    """Per instruction, in order, whether it was followed (strict, loose); a prompt passes when all were; `score`
    is the authors' leaderboard number, prompt-level strict accuracy."""
    samples = results[0] if isinstance(results[0], list) else results
    lang = LANGUAGES[doc["lang"]]
    strict, loose = [], []
    for instruction, kwargs in zip(doc["instruction_id_list"], doc["kwargs"]):
        given = {k: v for k, v in kwargs.items() if v is not None}  # `datasets` gives every row every kwarg name
        strict.append(_majority([follows(instruction, given, s, lang) for s in samples]))
        loose.append(_majority([any(follows(instruction, given, v, lang) for v in loose_variants(s)) for s in samples]))
    return {
        "prompt_level_strict_acc": all(strict),
        "prompt_level_loose_acc": all(loose),
        "inst_level_strict_acc": strict,
        "inst_level_loose_acc": loose,
        "score": float(all(strict)),
    }


def followed_share(items: list[list[bool]]) -> float:
    """Instruction-level accuracy: instructions followed ÷ instructions, over all prompts."""
    return sum(sum(verdicts) for verdicts in items) / sum(len(verdicts) for verdicts in items)
