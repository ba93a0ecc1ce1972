"""The pipeline YAML's one schema: every stage typed, every problem named with its stage, paths from the config's
folder, reference tokenizer names kept as names."""

from pathlib import Path

import pytest
import yaml

from lep.errors import InputError
from lep.pipeline_config import PipelineConfig, fetch_hub_ids, load_pipeline
from tests.support.hub_cache import add_snapshot

# models/base would read as a hub id (org/name) while no such folder exists
TOP = {"workdir": "work", "base_model": "base", "instruct_model": "instruct", "corpus": ["ru.txt"]}


def _fetched(config: PipelineConfig) -> PipelineConfig:
    fetch_hub_ids(config)
    return config


def _write(folder: Path, stages: dict, **top) -> Path:
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(TOP | top | {"stages": stages}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "stages, message",
    [
        ({"tokenizer": {"method": "optimize"}}, "stages.tokenizer: method optimize needs keep (--keep)"),
        ({"tokenizer": {"new_vocab_size": "lots"}}, "stages.tokenizer.new_vocab_size='lots': must be a valid integer"),
        ({"train": {"seq_len": 0}}, "stages.train.seq_len=0: must be greater than or equal to 8"),
        ({"init": {"recipe": "median"}}, "stages.init.recipe='median': must be 'mean', 'wmean' or 'first'"),
        ({"tokenizer": {"new_vocab_size": 9, "latin_words": "no"}}, "stages.tokenizer.latin_words='no': must be"),
        ({"train": {"max_steps": 0}}, "stages.train: max_steps=0 would train nothing"),
        ({"propagate": {"modes": ["warp"]}}, "stages.propagate.modes[0]='warp': must be 'swap'"),
        ({"calibrate": {"mode": "sft", "data": "d", "rank": 0}}, "stages.calibrate: rank=0: must be greater than"),
        ({"calibrate": {"mode": "sft", "data": "d", "colour": 1}}, "stages.calibrate: unknown setting 'colour'"),
        ({"calibrate": {"mode": "sft"}}, "stages.calibrate.data is missing"),
        ({"calibrate": {"mode": "sft", "data": "d", "instruct": "m"}}, "the pipeline's instruct_model: set that"),
        ({"distill": {}}, "unknown setting 'stages.distill'"),
    ],
)
def test_a_bad_stage_is_named_with_its_key_and_file(tmp_path, stages, message):
    path = _write(tmp_path, stages)
    with pytest.raises(InputError) as error:
        load_pipeline(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_paths_start_at_the_config_folder_and_reference_names_stay_names(tmp_path):
    (tmp_path / "tok").mkdir()
    stages = {"tokenizer": {"base": "llama-3", "new_vocab_size": 900}, "init": {"original_tokenizer": "tok"}}
    config = load_pipeline(_write(tmp_path, stages))
    assert config.workdir == (tmp_path / "work").resolve()
    assert config.corpus == [(tmp_path / "ru.txt").resolve()]
    assert config.stages.tokenizer is not None
    assert config.stages.tokenizer.base == "llama-3"
    assert config.stages.init is not None
    assert config.stages.init.original_tokenizer == str((tmp_path / "tok").resolve())


def test_a_caller_names_the_folder_and_overrides_top_level_keys(tmp_path):
    config = load_pipeline(_write(tmp_path, {"init": None}), base=tmp_path / "demo", overrides={"corpus": []})
    assert config.base_model == (tmp_path / "demo" / "base").resolve()
    assert config.corpus == []
    assert config.stages.names() == ["init"]  # a key with no value runs its stage with the defaults


def test_a_calibrate_stage_gives_its_settings_over_the_preset(tmp_path):
    stages = {"tokenizer": {"new_vocab_size": 900}, "calibrate": {"mode": "sft", "data": "d", "rank": 4}}
    config = load_pipeline(_write(tmp_path, stages))
    assert config.stages.calibrate is not None
    request = config.stages.calibrate.request(tmp_path / "instruct", config.corpus)
    assert request.overrides() == {"rank": 4}
    assert request.copy_corpus == tuple(config.corpus)  # default: the pipeline's corpus


def test_models_and_tokenizers_may_be_hub_ids_and_a_folder_beside_the_config_wins(tmp_path, hub_cache):
    files = tmp_path / "files"
    files.mkdir()
    (files / "config.json").write_text("{}")
    base = add_snapshot(hub_cache, "org/base", files, "1" * 40)
    instruct = add_snapshot(hub_cache, "org/instruct", files, "2" * 40, refs=("v1",))
    stages = {"tokenizer": {"base": "org/base", "new_vocab_size": 900}, "init": {"original_tokenizer": "org/base"}}
    path = _write(tmp_path, stages, base_model="org/base", instruct_model="org/instruct@v1")
    config = _fetched(load_pipeline(path))
    assert (config.base_model, config.instruct_model) == (base, instruct)
    assert config.stages.tokenizer is not None and config.stages.tokenizer.base == str(base)
    assert config.stages.init is not None and config.stages.init.original_tokenizer == str(base)

    (tmp_path / "org" / "base").mkdir(parents=True)
    assert _fetched(load_pipeline(path)).base_model == (tmp_path / "org" / "base").resolve()

    path = _write(tmp_path, {}, base_model="org/absent")
    config = load_pipeline(path)  # read and checked; the hub is asked when the stages start
    with pytest.raises(InputError, match="hub id org/absent@main is not in the Hugging Face cache"):
        fetch_hub_ids(config)
