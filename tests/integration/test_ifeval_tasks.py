"""ru_ifeval and en_ifeval through lm-eval with a scripted model: the prompt as the one user turn of the chat
template, greedy by default, the authors' 5 samples at temperature 0.3 under `--generation paper`, and bad data
through the CLI as one error line."""

import itertools

from lm_eval.api.model import LM

from harness.run.evaluation import PromptSettings, evaluate_task, task_manager
from tests.support.cli import run_cli
from tests.support.ifeval_fixture import fixture_rows, write_ifeval_fixture


class ScriptedLM(LM):
    """Answers generation requests with `answers` in turn; renders a chat as <role>content</role> turns."""

    def __init__(self, answers: list[str]):
        super().__init__()
        self.answers = itertools.cycle(answers)
        self.asked: list = []

    def generate_until(self, requests, disable_tqdm: bool = False):
        self.asked += requests
        return [next(self.answers) for _ in requests]

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise AssertionError("IFEval only generates")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise AssertionError("IFEval only generates")

    def apply_chat_template(self, chat_history, add_generation_prompt=True) -> str:
        return "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in chat_history) + "<assistant>"

    @property
    def tokenizer_name(self) -> str:
        return "scripted"


def test_greedy_is_one_answer_per_prompt_in_the_chat_template(tmp_path):
    data = write_ifeval_fixture(tmp_path)
    lm = ScriptedLM(["Ответ без запятых."])
    result = evaluate_task(lm, "ru_ifeval", PromptSettings(limit=3), task_manager(data, None))
    prompt = fixture_rows("ru")[0]["prompt"]
    assert lm.asked[0].args[0] == f"<user>{prompt}</user><assistant>"  # the user turn only, no system turn
    assert len(lm.asked) == 3
    assert result["config"]["generation_kwargs"] == {
        "until": [],
        "do_sample": False,
        "temperature": 0.0,
        "max_gen_toks": 1024,
    }
    assert result["samples"][0]["filtered_resps"] == ["Ответ без запятых."]
    assert set(result["metrics"]) >= {
        "prompt_level_strict_acc",
        "prompt_level_loose_acc",
        "inst_level_strict_acc",
        "inst_level_loose_acc",
        "score",
    }
    assert result["metrics"]["score"] == result["metrics"]["prompt_level_strict_acc"]


def test_paper_samples_each_prompt_five_times_at_temperature_0_3_and_counts_the_majority(tmp_path):
    data = write_ifeval_fixture(tmp_path)
    answers = ["No commas here.", "Yes, commas.", "No commas again.", " ", "Still none."]
    lm = ScriptedLM(answers)
    rows = fixture_rows("en")
    comma = next(i for i, r in enumerate(rows) if r["instruction_id_list"] == ["punctuation:no_comma"])
    settings = PromptSettings(generation="paper", limit=comma + 1)
    result = evaluate_task(lm, "en_ifeval", settings, task_manager(data, None))
    assert len(lm.asked) == 5 * (comma + 1)
    assert result["config"]["repeats"] == 5
    assert {k: result["config"]["generation_kwargs"][k] for k in ("do_sample", "temperature", "top_p", "top_k")} == {
        "do_sample": True,
        "temperature": 0.3,
        "top_p": 0.9,
        "top_k": 40,
    }
    sample = result["samples"][comma]
    assert sorted(sample["filtered_resps"][0]) == sorted(answers)  # every sample reaches the scoring
    assert sample["inst_level_strict_acc"] == [True]  # 3 of 5 follow; the blank one does not


def test_bad_data_stops_the_run_with_one_error_line(tmp_path, capsys, tiny_model):
    good = fixture_rows("ru")[0]
    data = write_ifeval_fixture(tmp_path / "data", {"ru": [good, {**good, "kwargs": [{"keywords": []}]}]})
    argv = ["run", "--model", tiny_model, "--suite", "ifeval", "--backend", "hf", "--data-dir", data]
    status, _, err = run_cli([*argv, "--out", tmp_path / "runs"], capsys)
    assert status == 2
    [line] = [line for line in err.splitlines() if "error:" in line]  # the rest is the model's loading bar
    assert line.startswith("error: ru_ifeval: ")
    assert line.endswith(
        "ruIFEval_v0.1.jsonl:2: field 'kwargs' item 0 (keywords:existence) 'keywords' should be a "
        "non-empty list of strings, not []"
    )
    assert not (tmp_path / "runs").exists()
