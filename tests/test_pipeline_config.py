"""`lep-bench adapt pipeline`: config validation, resumability, and the result served by vLLM."""

import json
from importlib.resources import files
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from harness.cli import main
from lep.errors import InputError
from lep.pipeline import run_pipeline
from lep.small_models import build_small_model

SAMPLE = Path(str(files("harness").joinpath("sample_text")))


@pytest.fixture(scope="module")
def models(tmp_path_factory, reference_tokenizer) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    build_small_model(reference_tokenizer("mistral-7b"), folder / "base", "mistral", tied=True, seed=1)
    build_small_model(reference_tokenizer("openchat-3.5"), folder / "instruct", "mistral", tied=True, seed=2)
    return folder


def _config(folder: Path, stages: dict, name: str = "pipeline.yaml") -> Path:
    config = {
        "workdir": "work",
        "base_model": "base",
        "instruct_model": "instruct",
        "corpus": [str(SAMPLE)],
        "stages": stages,
    }
    path = folder / name
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


STAGES = {
    "tokenizer": {"method": "extend", "new_vocab_size": 900},
    "init": {},
    "train": {
        "seq_len": 64,
        "global_batch": 4,
        "per_device_batch": 4,
        "max_steps": 4,
        "warmup_steps": 0,
        "save_steps": 2,
    },
    "propagate": {"modes": ["swap", "conversion"]},
}


@pytest.fixture(scope="module")
def finished(models) -> Path:
    status = run_pipeline(_config(models, STAGES))
    assert set(status.values()) == {"ran"}
    return models / "work"


def test_pipeline_runs_every_stage_then_skips_them(finished, models):
    for stage in ("tokenizer", "init", "train", "propagate-swap", "propagate-conversion"):
        assert (finished / stage).is_dir()
    status = run_pipeline(_config(models, STAGES))
    assert set(status.values()) == {"skipped"}
    report = json.loads((finished / "propagate-conversion" / "lep_propagate.json").read_text(encoding="utf-8"))
    assert report["fits"]["input"]["rows"] > 32000 and report["copied_special_tokens"] == [
        "<|end_of_turn|>",
        "<|pad_0|>",
    ]


def test_missing_stage_output_is_named_before_anything_runs(models, tmp_path):
    config = _config(models, {"propagate": {"modes": ["swap"]}}, name="only-propagate.yaml")
    (models / "work-b").mkdir(exist_ok=True)
    config.write_text(config.read_text(encoding="utf-8").replace("workdir: work", "workdir: work-b"), encoding="utf-8")
    with pytest.raises(InputError, match="needs the output of stage 'train'"):
        run_pipeline(config)
    assert list((models / "work-b").iterdir()) == []


def test_bad_configs_give_one_clear_error(models, capsys):
    bad = models / "bad.yaml"
    bad.write_text("workdir: w\nbase_model: nowhere\nstages: {init: {}}\n", encoding="utf-8")
    assert main(["adapt", "pipeline", str(bad)]) == 2
    assert "base_model" in capsys.readouterr().err
    typo = _config(models, {"train": {"learning_rat": 1.0}}, name="typo.yaml")
    assert main(["adapt", "pipeline", str(typo)]) == 2
    assert "unknown setting 'learning_rat'" in capsys.readouterr().err
    assert main(["adapt", "pipeline", str(models / "absent.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    broken = models / "broken.yaml"
    broken.write_text("stages: [", encoding="utf-8")
    assert main(["adapt", "pipeline", str(broken)]) == 2
    error = capsys.readouterr().err
    assert "not valid YAML at line 1" in error and len(error.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_serves_the_propagated_model_with_hf_greedy_tokens(finished):
    from harness.serving import ServerSettings, VllmServer

    model_dir = finished / "propagate-conversion"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    prompt = "Утром над рекой поднимался"
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    expected = model.generate(ids, max_new_tokens=8, do_sample=False, min_new_tokens=8)[0, ids.shape[1] :].tolist()
    with VllmServer(model_dir, "propagated", ServerSettings(max_model_len=512, enforce_eager=True)) as server:
        answer = server.complete(prompt, max_tokens=8, logprobs=1, return_tokens_as_token_ids=True, ignore_eos=True)
    served = [int(token.split(":")[1]) for token in answer["choices"][0]["logprobs"]["tokens"]]
    assert served == expected
