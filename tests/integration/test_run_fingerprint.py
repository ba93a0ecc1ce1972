"""The run fingerprint: each input that can change a score, changed, is a new run; nothing changed, a reuse."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import harness.run.fingerprint as fingerprint
import harness.run.model_spec as model_spec
import lep.reference_sources as reference_sources
import tasks_ru.data_sources as data_sources
from harness.demo.build import embedded_tasks
from harness.run.backends import BackendSettings
from harness.run.evaluation import PromptSettings
from harness.run.model_spec import parse_spec
from harness.run.request import RunRequest
from harness.run.runner import run


@pytest.fixture
def data(tmp_path) -> Path:
    shutil.copytree(embedded_tasks(), tmp_path / "data")
    return tmp_path / "data"


def _request(model: Path, out: Path, data_dir: Path | None, suite="ru-open", tasks=("ru_open_terra",), **spec):
    fields = ",".join(f"{k}={v}" for k, v in {"path": model, "kind": "instruct", **spec}.items())
    return RunRequest(
        spec=parse_spec(fields),
        suite=suite,
        tasks=tuple(tasks),
        out=out,
        data_dir=data_dir,
        backend=BackendSettings(backend="hf", device="cpu"),
        prompts=PromptSettings(limit=2),
    )


def _flip_terra_labels(data: Path) -> None:
    flip = {"entailment": "not_entailment", "not_entailment": "entailment"}
    for split in ("val.jsonl", "train.jsonl"):
        path = data / "tasks" / "terra" / split
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        path.write_text("".join(json.dumps({**r, "label": flip[r["label"]]}) + "\n" for r in rows), encoding="utf-8")


def test_edited_task_data_is_a_new_run_with_a_new_data_hash(tiny_model, tmp_path, data):
    first = run(_request(tiny_model, tmp_path / "runs", data), progress=lambda _: None)
    assert run(_request(tiny_model, tmp_path / "runs", data), progress=lambda _: None) == first
    _flip_terra_labels(data)
    second = run(_request(tiny_model, tmp_path / "runs", data), progress=lambda _: None)
    assert second != first
    hashes = [json.loads((d / "tasks" / "ru_open_terra.json").read_text())["data_hash"] for d in (first, second)]
    assert hashes[0] != hashes[1]


def test_only_the_files_a_task_reads_count(tiny_model, tmp_path, data):
    same = _request(tiny_model, tmp_path, data).run_dir()
    (data / "tasks" / "rubq" / "RuBQ_1.0" / "RuBQ_1.0_dev.json").write_text("[]")  # not read by ru_open_terra
    assert _request(tiny_model, tmp_path, data).run_dir() == same
    (data / "tasks" / "terra" / "new.jsonl").write_text("{}\n")  # under terra's folder: counted
    assert _request(tiny_model, tmp_path, data).run_dir() != same


def test_the_data_dir_from_the_environment_is_recorded(tiny_model, tmp_path, data, monkeypatch):
    other = tmp_path / "other"
    shutil.copytree(data, other)
    _flip_terra_labels(other)
    monkeypatch.setenv("LEP_DATA_DIR", str(data))
    from_env = _request(tiny_model, tmp_path, None)
    assert from_env.settings_record()["data"]["data_dir"] == str(data.resolve())
    first = from_env.run_dir()
    assert first == _request(tiny_model, tmp_path, data).run_dir()
    monkeypatch.setenv("LEP_DATA_DIR", str(other))
    assert _request(tiny_model, tmp_path, None).run_dir() != first


def test_a_new_hub_commit_is_a_new_run(tiny_model, tmp_path, monkeypatch):
    commits = {"RefalMachine/darumeru": "a" * 40}
    monkeypatch.setattr(data_sources, "hub_revision", lambda hub_id: commits[hub_id])
    request = _request(tiny_model, tmp_path, None, suite="darumeru", tasks=("darumeru_parus",))
    same = request.run_dir()
    assert request.settings_record()["data"]["hub_revisions"] == {"RefalMachine/darumeru": "a" * 40}
    assert request.run_dir() == same
    commits["RefalMachine/darumeru"] = "b" * 40
    assert request.run_dir() != same


@pytest.mark.parametrize("package", ["sacrebleu", "scikit-learn", "pymorphy3", "pymorphy3-dicts-ru", "datasets"])
def test_a_new_scoring_package_version_is_a_new_run(tiny_model, tmp_path, data, monkeypatch, package):
    same = _request(tiny_model, tmp_path, data).run_dir()
    installed = fingerprint.importlib.metadata.version
    monkeypatch.setattr(
        fingerprint.importlib.metadata, "version", lambda name: "0.0-other" if name == package else installed(name)
    )
    assert _request(tiny_model, tmp_path, data).run_dir() != same


def test_a_reference_tokenizer_is_fingerprinted_by_its_files(tiny_model, tmp_path, data, monkeypatch):
    source = tmp_path / "tokenizer.model"
    shutil.copyfile(reference_sources.reference_sources("openchat-3.5")[0], source)
    monkeypatch.setattr(model_spec, "reference_sources", lambda name: [source])  # where the fingerprint looks
    same = _request(tiny_model, tmp_path, data, tokenizer="openchat-3.5").run_dir()
    assert _request(tiny_model, tmp_path, data, tokenizer="openchat-3.5").run_dir() == same
    with source.open("ab") as handle:
        handle.write(b"\0")
    assert _request(tiny_model, tmp_path, data, tokenizer="openchat-3.5").run_dir() != same


def test_the_hf_device_is_recorded(tiny_model, tmp_path, data):
    cpu = _request(tiny_model, tmp_path, data)
    cuda = replace(cpu, backend=BackendSettings(backend="hf", device="cuda"))
    assert cpu.settings_record()["backend"]["device"] == "cpu"
    assert cuda.run_dir() != cpu.run_dir()


def test_the_context_is_the_models_own_capped_as_llmtf_caps_it(tiny_model, tmp_path, data):
    config_path = tiny_model / "config.json"
    original = config_path.read_text()
    try:
        for positions, expected in ((2048, 2048), (8192, model_spec.CONTEXT_CAP), (512, 512)):
            config_path.write_text(json.dumps({**json.loads(original), "max_position_embeddings": positions}))
            request = _request(tiny_model, tmp_path, data)
            assert request.spec.context_length() == expected
            assert request.settings_record()["backend"]["max_length"] == expected
        assert _request(tiny_model, tmp_path, data, max_length=1024).spec.context_length() == 1024  # the spec's wins
    finally:
        config_path.write_text(original)
