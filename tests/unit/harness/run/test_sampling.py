"""Sampling profiles: `--generation paper` takes a task's own sampling where the authors set one (IFEval: 5 samples
at temperature 0.3), and the fingerprint records it; the vLLM server answers repeated samples without the
per-request seed, which would make every copy the same sample."""

from lm_eval.models.openai_completions import LocalCompletionsAPI

from harness.run.backends import _served_completions_class
from harness.run.evaluation import PromptSettings


def test_paper_samples_ifeval_five_times_at_temperature_0_3_and_records_it():
    paper, greedy = PromptSettings(generation="paper"), PromptSettings()
    assert paper.samples("ru_ifeval") == paper.samples("en_ifeval") == 5
    assert paper.generation_kwargs("ru_ifeval") == {"do_sample": True, "temperature": 0.3, "top_p": 0.9, "top_k": 40}
    assert paper.samples("ru_open_rubq") == 1 and paper.generation_kwargs("ru_open_rubq")["temperature"] == 0.1
    assert greedy.samples("ru_ifeval") == 1 and greedy.generation_kwargs("ru_ifeval") == {}
    assert PromptSettings(kind="base").generation_kwargs("en_ifeval") == {"until": ["\n"]}
    assert paper.record()["task_generation"]["en_ifeval"]["samples"] == 5
    assert "task_generation" not in greedy.record()


def test_the_server_samples_a_repeated_prompt_without_the_per_request_seed(monkeypatch):
    seeds: list = []

    def generate(self, requests, disable_tqdm=False):
        seeds.append(self._seed)
        return ["x"] * len(requests)

    monkeypatch.setattr(LocalCompletionsAPI, "generate_until", generate)
    served = object.__new__(_served_completions_class())  # the server's client, without a server to reach
    served._seed = 1234
    repeated, other = object(), object()
    assert served.generate_until([repeated] * 5 + [other]) == ["x"] * 6
    assert served.generate_until([repeated, other]) == ["x"] * 2
    assert seeds == [None, 1234]
    assert served._seed == 1234
