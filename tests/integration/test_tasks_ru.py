"""tasks_ru through lm-eval: Darumeru on hub-schema fixture files (prompts, roles, shots as llmtf builds
them), ru-open on the offline data, and bad data named by file, row and field."""

import json
from pathlib import Path

import pytest

from harness.run.evaluation import PromptSettings, evaluate_task, task_manager
from lep.errors import InputError
from tasks_ru.suites import SUITES, TOTAL, suite_tasks, summarise
from tests.support.darumeru_fixture import write_darumeru_fixture, write_rows


@pytest.fixture(scope="module")
def tiny_lm(tiny_model):
    """The tiny model (real OpenChat-3.5 tokenizer, random weights) through lm-eval's hf backend."""
    from lm_eval.models.huggingface import HFLM

    return tiny_model, HFLM(pretrained=str(tiny_model), dtype="float32", device="cpu", batch_size=8, max_length=2048)


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory) -> Path:
    return write_darumeru_fixture(tmp_path_factory.mktemp("darumeru"))


def _run_suite(lm, model: Path, suite: str, data_dir: Path, settings: PromptSettings) -> dict[str, dict]:
    manager = task_manager(data_dir, model)
    return {task: evaluate_task(lm, task, settings, manager) for task in suite_tasks(suite)}


def _prompt(result: dict, i: int = 0) -> str:
    return result["samples"][i]["arguments"][0][0]


@pytest.mark.slow
def test_darumeru_runs_end_to_end_on_hub_schema_files(tiny_lm, fixture_dir):
    model, lm = tiny_lm
    results = _run_suite(lm, model, "darumeru", fixture_dir, PromptSettings(kind="instruct", limit=2))
    scores = {task: r["metrics"]["score"] for task, r in results.items()}
    assert len(scores) == 17
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    summary = summarise("darumeru", scores)
    assert set(summary) == set(SUITES["darumeru"]) | {"Micro-Avg"}  # the five groups, DaruSum among them
    # PARus is asked in both orders, the options swapped in the second (limit 2: the first item twice)
    parus = results["darumeru_parus"]["samples"]
    assert len(parus) == 2
    assert "Вариант 1: первый 0" in _prompt(results["darumeru_parus"], 0)
    assert "Вариант 1: второй 0" in _prompt(results["darumeru_parus"], 1)
    assert [s["doc"]["order"] for s in parus[:2]] == ["original", "swapped"]
    assert parus[0]["doc"]["key"] == parus[1]["doc"]["key"] == "0"
    assert all(r["data_hash"] and r["version"] == 1.0 for r in results.values())
    assert {r["config"]["metadata"]["scoring"] for r in results.values()} == {
        "authors"
    }  # the profile, in each task's record
    assert "chars_per_token" in results["darumeru_cp_sent_ru"]["metrics"]
    # the open bot turn is the assistant's; the choice is scored as " 1" after it
    assert _prompt(results["darumeru_rcb"]).endswith("<|end_of_turn|>GPT4 Correct Assistant: Ответ:")
    assert [a["arguments"][0][1] for a in results["darumeru_rcb"]["samples"][:1]] == [" 1"]
    assert results["darumeru_multiq"]["config"]["generation_kwargs"]["until"] == []  # instruct: end of turn only
    extractive = _prompt(results["darumeru_gazeta_extractive"])
    assert "Твоя задача определить наиболее важные предложения.\nТекст: Первое важное предложение. Второе" in extractive
    assert extractive.endswith("GPT4 Correct Assistant: Наиболее важные предложения статьи:")
    assert "Напиши краткую аннотацию на русском языке к следующему тексту.\nТекст: Первое" in _prompt(
        results["darumeru_gazeta_abstractive"]
    )


@pytest.mark.slow
def test_base_prompts_take_the_first_rows_prepended_with_their_answer_turns(tiny_lm, fixture_dir):
    model, lm = tiny_lm
    manager = task_manager(fixture_dir, model)
    settings = PromptSettings(kind="base", num_fewshot=2, limit=1)
    multiq_result = evaluate_task(lm, "darumeru_multiq", settings, manager)
    multiq = _prompt(multiq_result)
    assert (
        multiq_result["data_hash"]
        == evaluate_task(lm, "darumeru_multiq", PromptSettings(limit=1), manager)["data_hash"]
    )  # one hash for both kinds
    # llmtf prepends prompt row i before rows 0..i-1: row 1, row 0, then the question; answers are bot turns
    assert multiq.count("Ответ: в лесу\n\n") == 2
    assert "segment" not in multiq
    assert multiq.index("Где стоит дом 1?") < multiq.index("Где стоит дом 0?") < multiq.rindex("Где стоит дом 0?")
    assert multiq.endswith("Где стоит дом 0?\nОтвет:")
    rucola = _prompt(evaluate_task(lm, "darumeru_rucola", settings, manager))
    assert rucola.index("Текст: Предложение номер 30.") < rucola.index(
        "Текст: Предложение номер 29.\nОтвет: 1\n\n"
    )  # train from 29
    mmlu = _prompt(evaluate_task(lm, "darumeru_nlpcoreteam_rummlu", settings, manager))
    # own subject's dev rows in order, the first under the subject headline; the question without it
    assert mmlu.startswith(
        "Ниже приведены вопросы с множественным выбором (с ответами) по абстрактной алгебре.\n\nСколько будет 0+1?"
    )
    assert mmlu.index("0+1?") < mmlu.index("0+2?")
    assert mmlu.count("Ниже приведены") == 1
    assert mmlu.endswith("D. 7\nОтвет:")
    extractive = evaluate_task(lm, "darumeru_gazeta_extractive", settings, manager)
    assert "Ответ" not in _prompt(extractive)
    assert extractive["config"]["num_fewshot"] == 0
    assert evaluate_task(lm, "darumeru_use", settings, manager)["config"]["generation_kwargs"]["until"] == [
        "\n"
    ]  # base: a newline stops


def test_scoring_profile_is_chosen_per_run(tiny_lm, fixture_dir):
    model, lm = tiny_lm
    result = evaluate_task(
        lm, "darumeru_cp_sent_ru", PromptSettings(limit=1, scoring="strict"), task_manager(fixture_dir, model)
    )
    assert result["config"]["metadata"]["scoring"] == "strict"
    assert result["samples"][0]["doc"]["scoring"] == "strict"
    with pytest.raises(InputError, match="scoring='lenient': must be 'authors' or 'strict'"):
        PromptSettings(scoring="lenient").check()


def test_choice_tasks_can_take_their_own_shot_count(tiny_lm, fixture_dir):
    model, lm = tiny_lm
    manager = task_manager(fixture_dir, model)
    settings = PromptSettings(kind="instruct", num_fewshot=2, choice_shots=0, limit=1)
    choice = evaluate_task(lm, "darumeru_rucola", settings, manager)
    generation = evaluate_task(lm, "darumeru_multiq", settings, manager)
    assert choice["config"]["num_fewshot"] == 0
    assert _prompt(choice).count("Ответ:") == 1
    assert generation["config"]["num_fewshot"] == 2
    assert _prompt(generation).count("Ответ: в лесу") == 2
    # the fingerprint holds the counts used, so an unset choice count and the same count given are one run
    assert PromptSettings(num_fewshot=3).record() == PromptSettings(num_fewshot=3, choice_shots=3).record()
    assert settings.record()["choice_shots"] == 0
    assert PromptSettings(kind="base").record()["choice_shots"] == 5


@pytest.mark.parametrize("kind", ["instruct", "base"])
def test_ru_open_runs_on_the_offline_data(tiny_lm, data_dir, kind):
    model, lm = tiny_lm
    results = _run_suite(lm, model, "ru-open", data_dir, PromptSettings(kind=kind, limit=3))
    summary = summarise("ru-open", {t: r["metrics"]["score"] for t, r in results.items()})
    assert set(summary) == set(SUITES["ru-open"]) | {TOTAL["ru-open"]}
    assert {r["config"]["metadata"]["scoring"] for r in results.values()} == {"strict"}
    prompt = _prompt(results["ru_open_terra"])
    if kind == "instruct":
        assert prompt.startswith("<s>GPT4 Correct User:")
        assert prompt.endswith("GPT4 Correct Assistant: Ответ:")
    else:
        assert prompt.count("\nОтвет: ") == 5
        assert prompt.endswith("\nОтвет:")
        assert "GPT4" not in prompt


# (hub config, its test split's rows made from a good RWSD row, what the error says)
BAD_ROWS = [
    (
        "rwsd",
        lambda g: [g, {k: v for k, v in g.items() if k != "inputs"}],
        r"rwsd/test.jsonl:2: field 'inputs' is missing",
    ),
    ("rwsd", lambda g: [{**g, "outputs": 1}], r"rwsd/test.jsonl:1: field 'outputs' should be a string, not int 1"),
    (
        "rwsd",
        lambda g: [{**g, "outputs": "Может быть"}],
        r"rwsd/test.jsonl:1: field 'outputs' 'Может быть' is not one of \['Да', 'Нет'\]",
    ),
    (
        "rwsd",
        lambda g: [{**g, "messages": [{"role": "user", "content": "{missing}"}]}],
        r"rwsd/test.jsonl:1: field 'messages' item 0: placeholder 'missing'",
    ),
    (
        "rwsd",
        lambda g: [{**g, "messages": g["messages"] * 2}],
        r"rwsd/test.jsonl:1: field 'messages' should be \[system\] user \[bot\]",
    ),
    (
        "multiq",
        lambda g: [{**g, "outputs": ["в лесу"]}],
        r"multiq/test.jsonl:1: field 'outputs' should be a non-empty list of \{'segment'",
    ),
    (
        "daru_treeway_eval",
        lambda g: [{"src_sents": ["А."], "summary_sents": "Б."}],
        r"daru_treeway_eval/test.jsonl:1: field 'summary_sents' should be a list, not str",
    ),
    (
        "cp_sent_ru",
        lambda g: [{**g, "inputs": {"txt": "x"}}],
        r"cp_sent_ru/test.jsonl:1: field 'inputs.text' is missing \(inputs has \['txt'\]\)",
    ),
    ("rcb", lambda g: [], r"rcb/test.jsonl: the split is empty"),
]
TASK_OF_CONFIG = {
    "rwsd": "darumeru_rwsd",
    "multiq": "darumeru_multiq",
    "daru_treeway_eval": "darumeru_gazeta_abstractive",
    "cp_sent_ru": "darumeru_cp_sent_ru",
    "rcb": "darumeru_rcb",
}


@pytest.mark.parametrize(
    ("config", "rows", "message"), BAD_ROWS, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(BAD_ROWS)]
)
def test_bad_rows_are_named_by_file_row_and_field(tiny_lm, fixture_dir, tmp_path, config, rows, message):
    model, lm = tiny_lm
    good = json.loads((fixture_dir / "rwsd" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0])
    data = write_darumeru_fixture(tmp_path / "d")
    write_rows(data / config / "test.jsonl", rows(good))
    task = TASK_OF_CONFIG[config]
    with pytest.raises(InputError, match=f"^{task}: .*{message}"):
        evaluate_task(lm, task, PromptSettings(), task_manager(data, model))


def test_a_missing_task_file_is_named(tiny_lm, tmp_path):
    model, lm = tiny_lm
    root = write_darumeru_fixture(tmp_path / "d")
    (root / "rcb" / "test.jsonl").unlink()
    with pytest.raises(
        InputError,
        match=r"darumeru_rcb: task data file not found: .*rcb/test.jsonl \(a local copy is DIR/<config>/<split>.jsonl",
    ):
        evaluate_task(lm, "darumeru_rcb", PromptSettings(), task_manager(root, model))


def test_ru_open_without_the_data_folder_says_how_to_point_at_it(tiny_lm, monkeypatch):
    model, lm = tiny_lm
    monkeypatch.delenv("LEP_DATA_DIR", raising=False)
    with pytest.raises(InputError, match="pass --data-dir or set LEP_DATA_DIR"):
        evaluate_task(lm, "ru_open_terra", PromptSettings(), task_manager(None, model))


DEMO_DATA = Path(__file__).resolve().parents[2] / "tasks_ru" / "demo_data"


def test_bits_per_char_is_the_models_own_log_prob_of_each_sentence_pooled_over_characters(tiny_lm):
    import math

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.run.backends import BackendSettings, open_backend
    from harness.run.model_spec import ModelSpec
    from tasks_ru.suites import higher_is_better, score_aggregation

    model_dir, _ = tiny_lm
    with open_backend(ModelSpec(name="tiny", path=str(model_dir)), BackendSettings(backend="hf")) as lm:
        results = _run_suite(lm, model_dir, "likelihood", DEMO_DATA, PromptSettings(kind="instruct", limit=4))
    model, tokenizer = AutoModelForCausalLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)
    for task, result in results.items():
        texts = [sample["doc"]["text"] for sample in result["samples"]]
        assert len(texts) == 4 and _prompt(result) == texts[0]  # no prompt, no shots, no chat template
        bits = 0.0
        for text in texts:  # the sentence after BOS, as lm-eval's hf backend reads a rolling window
            ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False).input_ids]])
            with torch.no_grad():
                log_probs = model(ids).logits[0, :-1].log_softmax(-1).gather(1, ids[0, 1:, None])
            bits -= float(log_probs.sum()) / math.log(2)
        expected = bits / sum(len(text) for text in texts)
        assert result["metrics"]["score"] == pytest.approx(expected, rel=1e-4)
        items = [sample["score"] for sample in result["samples"]]
        assert score_aggregation(task)(items) == pytest.approx(expected, rel=1e-4)  # what the intervals resample
        assert not higher_is_better("likelihood", task)
    assert not higher_is_better("likelihood", "Bits/char") and not higher_is_better("likelihood", "Mean")
    assert higher_is_better("ru-open", "Mean") and higher_is_better("darumeru", "darumeru_rcb")
