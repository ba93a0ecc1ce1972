"""The validation layer: every bad setting in one error, names and output paths, YAML files, config paths."""

import json
import logging
import struct
from pathlib import Path

import pytest

from lep.embedding_training import TrainSettings, check_settings, last_good_checkpoint
from lep.errors import InputError
from lep.validation import check_output_dir, check_output_file, problems_of, read_yaml, safe_name


def test_every_bad_setting_is_named_in_one_error():
    with pytest.raises(InputError) as error:
        check_settings({"seq_len": 0, "learning_rate": -1.0, "packing": "x", "colour": 1})
    message = str(error.value)
    for part in ("seq_len=0", "learning_rate=-1.0", "packing='x'", "unknown setting 'colour'"):
        assert part in message
    assert check_settings(TrainSettings()) == TrainSettings()


def test_names_and_output_dirs(tmp_path):
    for bad in ("../x", "a/b", ".hidden", "", "x\\y"):
        with pytest.raises(InputError):
            safe_name(bad, "--name")
    assert safe_name("my-model_1.5", "--name") == "my-model_1.5"
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="is a file"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(InputError, match="so no directory can be made"):
        check_output_dir(tmp_path / "f" / "below")
    check_output_dir(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists(), "checking must not create anything"


def _weights(folder: Path, complete: bool) -> None:
    folder.mkdir(parents=True)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    (folder / "model.safetensors").write_bytes(
        struct.pack("<Q", len(header)) + header + b"\0" * (16 if complete else 3)
    )


def test_a_corrupt_last_checkpoint_falls_back_to_the_previous_with_a_warning(tmp_path, caplog):
    for step, complete in ((2, True), (10, True), (12, False)):
        _weights(tmp_path / f"checkpoint-{step}", complete)
    with caplog.at_level(logging.WARNING):
        assert last_good_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert "skipping checkpoint" in caplog.text
    assert "checkpoint-12" in caplog.text
    assert "truncated" in caplog.text
    assert last_good_checkpoint(tmp_path / "none") is None


def test_an_output_file_is_checked_before_work(tmp_path):
    with pytest.raises(InputError, match="is a directory, not a file"):
        check_output_file(tmp_path, "--json")
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="its folder"):
        check_output_file(tmp_path / "f" / "verdict.json", "--json")
    check_output_file(tmp_path / "new" / "verdict.json", "--json")
    assert not (tmp_path / "new").exists(), "checking must not create anything"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"a: [1\n", "is not valid YAML at line 2"),
        (bytes(range(256)), "is not a text file"),
        (b"- a\n", "must be a YAML mapping of settings, not list"),
        (b"", "is empty: give its settings as a YAML mapping"),
    ],
)
def test_a_config_file_that_is_no_yaml_mapping_is_one_error(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_yaml(path, "experiment config")
    with pytest.raises(InputError, match="does not exist"):
        read_yaml(tmp_path / "missing.yaml", "experiment config")


def test_list_items_are_named_by_their_name_in_problems():
    from harness.experiment import ExperimentConfig

    problems = problems_of(ExperimentConfig, {"models": [{"name": "base", "path": 5}], "suites": ["nope"]})
    assert "models[base].path=5: must be a valid string" in problems
    assert any(p.startswith("suites[0]='nope'") for p in problems)
