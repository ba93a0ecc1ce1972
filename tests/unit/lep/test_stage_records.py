"""Stage records: a stage is reused only while its settings and inputs are unchanged, and a change
rebuilds everything downstream of it (lep/stage_record.py, lep/pipeline.py)."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness.demo.small_models import build_small_model
from harness.tokenizers.sample import SAMPLE_DIR as SAMPLE
from lep.pipeline import run_pipeline
from lep.stage_record import RECORD, StageInputs, run_stage


def _stage(tmp_path: Path, name: str, settings: dict, inputs: dict, built: list[str], fail: bool = False) -> str:
    def build() -> None:
        built.append(name)
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "out.txt").write_text(json.dumps(settings))
        if fail:
            raise KeyboardInterrupt

    return run_stage(tmp_path / name, StageInputs(name, settings, inputs), build, say=lambda _: None)


def test_a_changed_setting_or_input_file_rebuilds_and_the_same_ones_reuse(tmp_path):
    corpus, built = tmp_path / "corpus.txt", []
    corpus.write_text("один")
    assert _stage(tmp_path, "a", {"size": 1}, {"corpus": str(corpus)}, built) == "ran"
    assert _stage(tmp_path, "a", {"size": 1}, {"corpus": str(corpus)}, built) == "skipped"
    assert _stage(tmp_path, "a", {"size": 2}, {"corpus": str(corpus)}, built) == "ran"
    corpus.write_text("два")
    assert _stage(tmp_path, "a", {"size": 2}, {"corpus": str(corpus)}, built) == "ran"
    assert built == ["a", "a", "a"]


def test_a_rebuilt_upstream_stage_rebuilds_downstream(tmp_path):
    built: list[str] = []
    _stage(tmp_path, "up", {"n": 1}, {}, built)
    assert _stage(tmp_path, "down", {}, {"model": str(tmp_path / "up")}, built) == "ran"
    assert _stage(tmp_path, "down", {}, {"model": str(tmp_path / "up")}, built) == "skipped"
    _stage(tmp_path, "up", {"n": 2}, {}, built)
    assert _stage(tmp_path, "down", {}, {"model": str(tmp_path / "up")}, built) == "ran"


def test_a_killed_stage_keeps_its_partial_output_only_for_the_same_inputs(tmp_path):
    checkpoints = tmp_path / "a.checkpoints"
    checkpoints.mkdir()
    with pytest.raises(KeyboardInterrupt):
        _stage(tmp_path, "a", {"n": 1}, {}, [], fail=True)
    record = json.loads((tmp_path / "a" / RECORD).read_text())
    assert record["finished"] is False
    assert (tmp_path / "a" / "out.txt").is_file()

    def resume() -> None:
        assert (tmp_path / "a" / "out.txt").is_file()
        assert checkpoints.is_dir()

    inputs = StageInputs("a", {"n": 1}, {})
    assert run_stage(tmp_path / "a", inputs, resume, lambda _: None, also_clear=(checkpoints,)) == "ran"
    messages: list[str] = []
    changed = StageInputs("a", {"n": 2}, {})
    assert run_stage(tmp_path / "a", changed, lambda: None, messages.append, also_clear=(checkpoints,)) == "ran"
    assert not checkpoints.exists()
    assert not (tmp_path / "a" / "out.txt").exists()
    assert messages == [f"a: rebuilding {tmp_path / 'a'}, changed since it was made: n"]


@pytest.fixture(scope="module")
def models(tmp_path_factory, reference_tokenizer) -> Path:
    folder = tmp_path_factory.mktemp("stages")
    build_small_model(reference_tokenizer("mistral-7b"), folder / "base", "mistral", tied=True, seed=1)
    build_small_model(reference_tokenizer("openchat-3.5"), folder / "instruct", "mistral", tied=True, seed=2)
    shutil.copytree(SAMPLE, folder / "corpus")
    return folder


def _pipeline(folder: Path, max_steps: int = 2, init: dict | None = None) -> dict[str, str]:
    stages = {
        "tokenizer": {"method": "extend", "new_vocab_size": 700},
        "init": init or {},
        "train": {"seq_len": 32, "global_batch": 2, "per_device_batch": 2, "max_steps": max_steps, "save_steps": 1},
        "propagate": {"modes": ["swap"], "check": False},
    }
    config = {"workdir": "work", "base_model": "base", "instruct_model": "instruct", "corpus": ["corpus"]}
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump({**config, "stages": stages}), encoding="utf-8")
    return run_pipeline(path)


ALL = ("tokenizer", "init", "train", "propagate-swap")


def test_the_pipeline_reruns_a_changed_stage_and_everything_after_it(models):
    assert _pipeline(models) == dict.fromkeys(ALL, "ran")
    assert _pipeline(models) == dict.fromkeys(ALL, "skipped")
    # records keep the settings resolved, defaults included: a changed default rebuilds a stage whose YAML left it
    # out, and writing a default out changes nothing
    records = {stage: json.loads((models / "work" / stage / RECORD).read_text()) for stage in ("tokenizer", "init")}
    assert records["tokenizer"]["settings"]["latin_words"] == "auto"
    assert records["init"]["settings"] == {"recipe": "mean", "output_recipe": "input", "untie": None}
    assert _pipeline(models, init={"recipe": "mean", "untie": None}) == dict.fromkeys(ALL, "skipped")
    # a changed training setting: the stages before it are reused, it and propagation rebuilt
    assert _pipeline(models, max_steps=3) == {
        "tokenizer": "skipped",
        "init": "skipped",
        "train": "ran",
        "propagate-swap": "ran",
    }
    # a changed corpus (what a demo with LEP_DATA_DIR after one without is): everything
    with (models / "corpus" / "ru.txt").open("a", encoding="utf-8") as handle:
        handle.write("\nНовое предложение для словаря.\n")
    assert _pipeline(models, max_steps=3) == dict.fromkeys(ALL, "ran")
