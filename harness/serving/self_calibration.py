"""Self-calibration data: the ORIGINAL instruct model answers instruction prompts, optionally graded by a judge.

Answers come greedily through the harness's serving layer (a vLLM server); a judge is any
served model asked for a 1-5 grade, and only answers graded at least `min_grade` are kept.
"""

import re
from collections.abc import Callable
from pathlib import Path

from harness.serving.server import ServerSettings, VllmServer
from lep.calibration_data import Example
from lep.errors import InputError
from lep.reference_tokenizers import load_tokenizer

JUDGE_PROMPT = (
    "Оцени качество ответа ассистента на запрос пользователя по шкале от 1 до 5, где 5 — отличный, "
    "точный и полезный ответ, а 1 — бесполезный. Ответь одной цифрой.\n\nЗапрос: {prompt}\n\nОтвет: {answer}\n\nОценка:"
)
_GRADE = re.compile(r"[1-5]")


Progress = Callable[[str], None]


def answer_prompts(server: VllmServer, prompts: list[str], max_tokens: int, progress: Progress) -> list[Example]:
    """Greedy answers of the served instruct model, as chat examples."""
    examples = []
    for number, prompt in enumerate(prompts, 1):
        progress(f"answering prompt {number} of {len(prompts)}")
        messages = [{"role": "user", "content": prompt}]
        answer = server.chat(messages, max_tokens=max_tokens)
        if answer.strip():
            examples.append({"messages": messages + [{"role": "assistant", "content": answer}]})
    return examples


def judge(
    examples: list[Example], server: VllmServer, min_grade: int, progress: Progress
) -> tuple[list[Example], dict]:
    """Keep examples the served judge grades at least `min_grade`; returns them and grade counts."""
    kept, grades = [], {str(g): 0 for g in range(1, 6)} | {"unparsed": 0}
    for number, example in enumerate(examples, 1):
        progress(f"judging answer {number} of {len(examples)}")
        prompt, answer = example["messages"][0]["content"], example["messages"][-1]["content"]
        reply = server.complete(JUDGE_PROMPT.format(prompt=prompt, answer=answer), max_tokens=4)["choices"][0]["text"]
        match = _GRADE.search(reply)
        grades[match.group(0) if match else "unparsed"] += 1
        if match and int(match.group(0)) >= min_grade:
            kept.append(example)
    return kept, grades


def answerer(
    instruct: Path,
    judge_model: Path | None,
    min_grade: int,
    max_tokens: int,
    settings: ServerSettings,
    progress: Progress = lambda _: None,
):
    """The `answer` callable calibration_examples expects: answers, then the judge's filter if any.

    A model that judges its own answers is served once for both (a vLLM start is minutes for a 7B model)."""

    def answer(prompts: list[str]) -> tuple[list[Example], dict]:
        if not prompts:
            raise InputError("the prompt set is empty; pass a file with at least one instruction")
        if not load_tokenizer(instruct).chat_template:
            raise InputError(f"{instruct} has no chat template; self-calibration asks it questions through one")
        record = {"instruct": str(Path(instruct).resolve()), "max_new_tokens": max_tokens, "server": settings.record()}
        with VllmServer(Path(instruct), "instruct", settings) as server:
            examples = answer_prompts(server, prompts, max_tokens, progress)
            record["answers"] = len(examples)
            if judge_model is not None and Path(judge_model).resolve() == Path(instruct).resolve():
                examples, grades = judge(examples, server, min_grade, progress)
                record |= {"judge": record["instruct"], "min_grade": min_grade, "grades": grades}
        if judge_model is not None and "judge" not in record:
            with VllmServer(Path(judge_model), "judge", settings) as server:
                examples, grades = judge(examples, server, min_grade, progress)
            record |= {"judge": str(Path(judge_model).resolve()), "min_grade": min_grade, "grades": grades}
        return examples, record

    return answer


def served_answerer(
    instruct: Path, judge_model: Path | None, min_grade: int, max_tokens: int, progress: Progress = lambda _: None
):
    """`answerer` on a vLLM server with the default server settings: the pipeline's self-answerer."""
    return answerer(instruct, judge_model, min_grade, max_tokens, ServerSettings(), progress)
