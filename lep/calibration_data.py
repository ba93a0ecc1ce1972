"""Chat-format data for calibration (docs/method.md §6): load, validate, and build "copy this text" examples.

An example is {"messages": [{"role": ..., "content": ...}, ...]} with at least one assistant
turn (the loss is taken on assistant tokens only). Copy examples teach the adapted model to
reproduce Russian text token-efficiently, as the paper's 10,000 (self) and 2,000 (sft) did.
"""

import hashlib
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from lep.corpus import iter_corpus, json_lines
from lep.errors import InputError

Example = dict[str, list[dict[str, str]]]
# self mode: prompts -> (answered examples, a record of how they were made)
Answerer = Callable[[list[str]], tuple[list[Example], dict]]
COPY_INSTRUCTIONS = [
    "Перепиши этот текст без изменений:\n\n{text}",
    "Повтори следующий текст слово в слово:\n\n{text}",
    "Скопируй текст ниже точно:\n\n{text}",
]


def _hub_records(name: str) -> list[tuple[int, object]]:
    """Records of a hub dataset with a "messages" column (e.g. IlyaGusev/saiga_scored), when online."""
    try:
        from datasets import load_dataset

        return list(enumerate(load_dataset(name, split="train"), 1))
    except Exception as error:  # offline, no such dataset, no train split
        raise InputError(f"chat data {name} is neither a file nor a loadable hub dataset ({error})") from None


def load_chat_data(path: Path | str) -> list[Example]:
    """A jsonl of {"messages": [...]} (or a hub dataset id with that column); each needs an assistant turn."""
    path = Path(path)
    if path.is_file():
        records = list(json_lines(path, path.read_text(encoding="utf-8").splitlines()))
    elif not path.exists() and re.fullmatch(r"[\w.-]+/[\w.-]+", str(path)):
        records = _hub_records(str(path))
    else:
        raise InputError(f"chat data {path} does not exist")
    examples = []
    for number, record in records:
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and {"role", "content"} <= set(m) for m in messages
        ):
            raise InputError(f'{path} line {number}: expected {{"messages": [{{"role": ..., "content": ...}}, ...]}}')
        if not any(m["role"] == "assistant" for m in messages):
            raise InputError(f"{path} line {number} has no assistant turn; calibration learns from assistant answers")
        examples.append({"messages": messages})
    if not examples:
        raise InputError(f"chat data {path} holds no examples")
    return examples


def load_prompts(path: Path) -> list[str]:
    """Instruction prompts: a .txt (one per line), a .jsonl or .json list of {"instruction"|"prompt"|"text": ...}."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"prompt file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".txt":
        prompts = [line.strip() for line in text.splitlines() if line.strip()]
    else:
        try:
            records = (
                json.loads(text)
                if path.suffix == ".json"
                else [json.loads(line) for line in text.splitlines() if line.strip()]
            )
        except json.JSONDecodeError as error:
            raise InputError(f"{path} is not valid JSON ({error.msg})") from None
        keys = ("instruction", "prompt", "text")
        prompts = [next((r[k] for k in keys if isinstance(r.get(k), str)), "") for r in records if isinstance(r, dict)]
        prompts = [p.strip() for p in prompts if p.strip()]
    if not prompts:
        raise InputError(f"prompt file {path} holds no prompts")
    return prompts


def copy_examples(
    corpus: list[Path], count: int, seed: int = 0, min_chars: int = 40, max_chars: int = 600
) -> list[Example]:
    """`count` copy instructions over corpus paragraphs of a reasonable length, chosen reproducibly."""
    rng = random.Random(seed)
    pool = [t for t in iter_corpus(corpus, max_chars=50 * count * max_chars) if min_chars <= len(t) <= max_chars]
    if len(pool) < count:
        raise InputError(
            f"corpus {[str(p) for p in corpus]} has only {len(pool)} passages of {min_chars}-{max_chars} "
            f"characters; {count} requested"
        )
    chosen = rng.sample(pool, count)
    return [
        {
            "messages": [
                {"role": "user", "content": rng.choice(COPY_INSTRUCTIONS).format(text=text)},
                {"role": "assistant", "content": text},
            ]
        }
        for text in chosen
    ]


def fingerprint(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(example, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def calibration_examples(
    mode: str,
    data: Path,
    copy_corpus: list[Path],
    copy_count: int,
    answer: Answerer | None = None,
    seed: int = 0,
) -> tuple[list[Example], dict]:
    """The examples a calibration trains on, and a record of where they came from.

    sft: chat data from `data`. self: prompts from `data`, answered (and filtered) by `answer`,
    which the harness provides (it serves the original instruct model). Both: plus `copy_count`
    copy examples from `copy_corpus`.
    """
    if mode == "sft":
        examples = load_chat_data(data)
        record = {"chat_data": str(Path(data).resolve()), "chat_examples": len(examples)}
    elif mode == "self":
        if answer is None:
            raise InputError("self-calibration needs a serving layer to answer prompts; run it through lep-bench")
        prompts = load_prompts(data)
        examples, record = answer(prompts)
        record = {
            "prompts": str(Path(data).resolve()),
            "prompt_count": len(prompts),
            **record,
            "answers_kept": len(examples),
        }
    else:
        raise InputError(f"unknown calibration mode {mode!r}; use self or sft")
    if copy_count:
        copies = copy_examples(copy_corpus, copy_count, seed)
        examples = examples + copies
        record["copy_examples"] = len(copies)
        record["copy_corpus"] = [str(Path(p).resolve()) for p in copy_corpus]
    return examples, record
