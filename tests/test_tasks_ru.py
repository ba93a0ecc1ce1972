"""tasks_ru through lm-eval: Darumeru on hub-schema fixture files, ru-open on the offline data, errors."""

import json
from pathlib import Path

import pytest

from harness.evaluation import PromptSettings, evaluate_task, task_manager
from lep.errors import InputError
from lep.small_models import build_small_model
from tasks_ru.suites import SUITES, TOTAL, suite_tasks, summarise
from tests.darumeru_fixture import write_darumeru_fixture


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory, reference_tokenizer):
    """A 2-layer Mistral-architecture model around the real OpenChat-3.5 tokenizer, through lm-eval's hf backend."""
    from lm_eval.models.huggingface import HFLM

    model = build_small_model(reference_tokenizer("openchat-3.5"), tmp_path_factory.mktemp("tiny") / "model", architecture="mistral")
    return model, HFLM(pretrained=str(model), dtype="float32", device="cpu", batch_size=8, max_length=2048)


def _run_suite(lm, model: Path, suite: str, data_dir: Path, settings: PromptSettings) -> dict[str, dict]:
    manager = task_manager(data_dir, model)
    return {task: evaluate_task(lm, task, settings, manager) for task in suite_tasks(suite)}


def test_darumeru_runs_end_to_end_on_hub_schema_files(tiny_lm, tmp_path):
    model, lm = tiny_lm
    results = _run_suite(lm, model, "darumeru", write_darumeru_fixture(tmp_path / "darumeru"), PromptSettings(kind="instruct"))
    scores = {task: r["metrics"]["score"] for task, r in results.items()}
    assert len(scores) == 17 and all(0.0 <= s <= 1.0 for s in scores.values())
    summary = summarise("darumeru", scores)
    assert set(summary) == set(SUITES["darumeru"]) | {"Micro-Avg"}
    # PARus was asked in both orders: 4 items -> 8 prompts, the options swapped in the second
    parus = results["darumeru_parus"]["samples"]
    assert len(parus) == 8 and "первый 0" in parus[0]["arguments"][0][0] and "Вариант 1: второй 0" in parus[1]["arguments"][0][0]
    assert all(r["data_hash"] and r["version"] == 1.0 for r in results.values())
    assert "chars_per_token" in results["darumeru_cp_sent_ru"]["metrics"]


@pytest.mark.parametrize("kind", ["instruct", "base"])
def test_ru_open_runs_on_the_offline_data(tiny_lm, data_dir, kind):
    model, lm = tiny_lm
    results = _run_suite(lm, model, "ru-open", data_dir, PromptSettings(kind=kind, limit=3))
    summary = summarise("ru-open", {t: r["metrics"]["score"] for t, r in results.items()})
    assert set(summary) == set(SUITES["ru-open"]) | {TOTAL["ru-open"]}
    prompt = results["ru_open_terra"]["samples"][0]["arguments"][0][0]
    if kind == "instruct":
        assert prompt.startswith("<s>GPT4 Correct User:") and prompt.endswith("GPT4 Correct Assistant: Ответ:")
    else:
        assert prompt.count("\nОтвет: ") == 5 and prompt.endswith("\nОтвет:") and "GPT4" not in prompt


def test_a_missing_task_file_is_named(tiny_lm, tmp_path):
    model, lm = tiny_lm
    root = write_darumeru_fixture(tmp_path / "d")
    (root / "rcb" / "test.jsonl").unlink()
    with pytest.raises(InputError, match=r"darumeru_rcb: task data file not found: .*rcb/test"):
        evaluate_task(lm, "darumeru_rcb", PromptSettings(), task_manager(root, model))


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json\n", r"cannot parse .*rwsd/test.jsonl"),
        (json.dumps({"messages": [], "outputs": "Да"}) + "\n", r"rwsd/test: a row lacks the field 'inputs'"),
        (json.dumps({"messages": [], "inputs": {}, "outputs": "Может быть"}) + "\n", r"answer 'Может быть' is not one of \['Да', 'Нет'\]"),
        (json.dumps({"messages": [{"role": "user", "content": "{missing}"}], "inputs": {}, "outputs": "Да"}) + "\n", r"placeholder 'missing'"),
    ],
)
def test_a_malformed_task_file_says_what_is_wrong(tiny_lm, tmp_path, content, message):
    model, lm = tiny_lm
    root = write_darumeru_fixture(tmp_path / "d")
    (root / "rwsd" / "test.jsonl").write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        evaluate_task(lm, "darumeru_rwsd", PromptSettings(), task_manager(root, model))


def test_ru_open_without_the_data_folder_says_how_to_point_at_it(tiny_lm, monkeypatch):
    model, lm = tiny_lm
    monkeypatch.delenv("LEP_DATA_DIR", raising=False)
    with pytest.raises(InputError, match="pass --data-dir or set LEP_DATA_DIR"):
        evaluate_task(lm, "ru_open_terra", PromptSettings(), task_manager(None, model))
