"""Self-calibration served by vLLM: the original instruct model answers (and judges itself, served once), and the
merged model is an ordinary model that loads and generates."""

import json
from pathlib import Path

import pytest

from harness.demo.small_models import build_small_model
from lep.calibration import calibrate
from lep.calibration_data import calibration_examples
from lep.stage_settings import PRESETS


@pytest.fixture(scope="module")
def model(tmp_path_factory, reference_tokenizer) -> Path:
    return build_small_model(
        reference_tokenizer("llama-3-instruct"), tmp_path_factory.mktemp("cal") / "model", "llama", layers=3, seed=7
    )


@pytest.mark.slow
@pytest.mark.vllm
def test_self_calibration_end_to_end_served_by_vllm(model, tmp_path, data_dir, monkeypatch):
    import harness.serving.self_calibration as self_calibration
    from harness.serving.self_calibration import answerer
    from harness.serving.server import ServerSettings, VllmServer

    started = []
    monkeypatch.setattr(self_calibration, "VllmServer", lambda *args: started.append(args[1]) or VllmServer(*args))

    prompts = tmp_path / "prompts.json"
    arena = json.loads(
        (data_dir / "tasks" / "ifeval-arena" / "ru_arena_hard_v0.1_questions.json").read_text(encoding="utf-8")
    )
    prompts.write_text(json.dumps(arena[:3], ensure_ascii=False), encoding="utf-8")
    served = ServerSettings(max_model_len=512, enforce_eager=True)  # eager: a shorter start
    answer = answerer(model, model, 4, 16, served)  # the model judges itself: a smoke test
    examples, record = calibration_examples(
        "self", prompts, [data_dir / "corpora" / "ru" / "wiki-leipzig-10k"], 5, answer
    )
    assert record["prompt_count"] == 3
    assert record["copy_examples"] == 5
    assert len(examples) == record["answers_kept"] + 5
    assert sum(record["grades"].values()) == record["answers"]
    assert record["min_grade"] == 4
    assert started == ["instruct"], "a model that judges itself is served once"
    settings = type(PRESETS["self"])(
        **{**PRESETS["self"].__dict__, "max_steps": 1, "global_batch": 2, "per_device_batch": 2}
    )
    out = calibrate(model, examples, tmp_path / "merged", settings, record)
    # the merged model is an ordinary HF dir of the original's architecture: it loads and generates (a vLLM start
    # of an LEP output is test_propagated_model.py's; a second server here cost a minute of CI)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    merged, tokenizer = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    ids = tokenizer("Привет", return_tensors="pt").input_ids
    generated = merged.generate(ids, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert generated.shape[1] == ids.shape[1] + 4
