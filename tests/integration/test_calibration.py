"""LoRA calibration: assistant-only loss, merged = base + low-rank delta, frozen parts untouched, bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from harness.cli import main
from harness.demo.small_models import build_small_model
from lep.calibration import assistant_mask_tokens, calibrate
from lep.calibration_data import calibration_examples, copy_examples, load_chat_data
from lep.errors import InputError
from lep.packing import IGNORE
from lep.stage_settings import PRESETS

CHAT = [
    {
        "messages": [
            {"role": "user", "content": "Сколько будет два плюс два?"},
            {"role": "assistant", "content": "Четыре."},
            {"role": "user", "content": "А три плюс три?"},
            {"role": "assistant", "content": "Шесть."},
        ]
    },
    {
        "messages": [
            {"role": "system", "content": "Отвечай кратко."},
            {"role": "user", "content": "Столица России?"},
            {"role": "assistant", "content": "Москва."},
        ]
    },
]


@pytest.fixture(scope="module")
def model(tmp_path_factory, reference_tokenizer) -> Path:
    return build_small_model(
        reference_tokenizer("llama-3-instruct"), tmp_path_factory.mktemp("cal") / "model", "llama", layers=3, seed=7
    )


@pytest.mark.parametrize("name", ["llama-3-instruct", "openchat-3.5"])
def test_loss_is_on_assistant_tokens_only(name, reference_tokenizer):
    tokenizer = reference_tokenizer(name)
    example = CHAT[0] if name == "openchat-3.5" else CHAT[1]
    tokens = assistant_mask_tokens(example, tokenizer, 4096)
    learned = tokenizer.decode([t for t in tokens["labels"].tolist() if t != IGNORE])
    answers = [m["content"] for m in example["messages"] if m["role"] == "assistant"]
    for answer in answers:
        assert answer in learned
    for message in example["messages"]:
        if message["role"] != "assistant":
            assert message["content"] not in learned
    assert tokenizer.eos_token in learned or "<|eot_id|>" in learned  # the model learns to stop
    assert len(tokens["input_ids"]) == len(tokens["labels"])


def test_merged_model_is_base_plus_a_low_rank_delta(model, tmp_path):
    settings = PRESETS["self"]
    settings = type(settings)(
        **{
            **settings.__dict__,
            "learning_rate": 5e-2,
            "alpha": 8,
            "max_steps": 3,
            "global_batch": 2,
            "per_device_batch": 2,
        }
    )
    out = calibrate(model, CHAT * 2, tmp_path / "self", settings, {"source": "test"})
    before, after = load_file(str(model / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert set(before) == set(after)
    for name, weight in before.items():
        delta = after[name].double() - weight.double()
        if any(f"layers.{i}." in name for i in (0, 2)) and name.endswith("proj.weight"):
            assert delta.abs().max() > 0, name
            assert torch.linalg.matrix_rank(delta, atol=1e-6) <= settings.rank, name
        elif "embed_tokens" in name or "lm_head" in name:
            assert delta.abs().max() > 0, name  # trained in full in self mode
        else:
            assert torch.equal(after[name], weight), name  # middle layer, norms: frozen, bit-identical
    manifest = json.loads((out / "lep_calibrate.json").read_text(encoding="utf-8"))
    assert manifest["data"]["examples"] == 4
    assert len(manifest["data"]["sha256"]) == 64
    assert manifest["assistant_tokens"] > 0


def test_copy_examples_from_real_corpus(data_dir):
    examples = copy_examples([data_dir / "corpora" / "ru" / "ruslit"], 50, seed=3)
    assert len(examples) == 50
    assert examples == copy_examples([data_dir / "corpora" / "ru" / "ruslit"], 50, seed=3)
    for example in examples:
        user, assistant = example["messages"]
        assert assistant["content"] in user["content"]
        assert 40 <= len(assistant["content"]) <= 600


def test_chat_data_without_assistant_turn_writes_nothing(model, tmp_path):
    data = tmp_path / "chat.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "Привет"}]}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1 has no assistant turn"):
        load_chat_data(data)
    args = [
        "adapt",
        "calibrate",
        "--model",
        str(model),
        "--mode",
        "sft",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 2
    assert not (tmp_path / "out").exists()


def test_self_mode_refuses_an_instruct_model_without_chat_template(tmp_path, reference_tokenizer, capsys):
    no_template = build_small_model(reference_tokenizer("mistral-7b"), tmp_path / "plain", "mistral", seed=1)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Расскажи о Москве.\n", encoding="utf-8")
    args = [
        "adapt",
        "calibrate",
        "--model",
        str(no_template),
        "--mode",
        "self",
        "--data",
        str(prompts),
        "--instruct",
        str(no_template),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 2
    assert "no chat template" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_chat_data_and_offline_hub_id_are_clear_errors(model, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_chat_data(tmp_path / "absent.jsonl")
    args = [
        "adapt",
        "calibrate",
        "--model",
        str(model),
        "--mode",
        "sft",
        "--data",
        "IlyaGusev/saiga_scored",
        "--out",
        str(tmp_path / "o"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}  # a fresh process reads them at import
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 2
    assert "neither a file nor a loadable hub dataset" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_empty_prompt_set_is_a_clear_error(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no prompts"):
        calibration_examples("self", prompts, [], 0, answer=lambda p: ([], {}))
