"""`lep-bench adapt pipeline` on small models: every stage runs then is skipped, and config errors are named
before anything runs (the small pipeline is tests/support/pipelines.py's)."""

import json

import pytest

from harness.cli import main
from lep.errors import InputError
from lep.pipeline import run_pipeline
from tests.support.pipelines import STAGES, pipeline_config


def test_pipeline_runs_every_stage_then_skips_them(finished_pipeline, pipeline_models):
    for stage in ("tokenizer", "init", "train", "propagate-swap", "propagate-conversion"):
        assert (finished_pipeline / stage).is_dir()
    status = run_pipeline(pipeline_config(pipeline_models, STAGES))
    assert set(status.values()) == {"skipped"}
    report = json.loads((finished_pipeline / "propagate-conversion" / "lep_propagate.json").read_text(encoding="utf-8"))
    assert report["fits"]["input"]["rows"] > 32000
    assert report["copied_special_tokens"] == [
        "<|end_of_turn|>",
        "<|pad_0|>",
    ]


def test_missing_stage_output_is_named_before_anything_runs(pipeline_models, tmp_path):
    config = pipeline_config(pipeline_models, {"propagate": {"modes": ["swap"]}}, name="only-propagate.yaml")
    (pipeline_models / "work-b").mkdir(exist_ok=True)
    config.write_text(config.read_text(encoding="utf-8").replace("workdir: work", "workdir: work-b"), encoding="utf-8")
    with pytest.raises(InputError, match="needs the output of stage 'train'"):
        run_pipeline(config)
    assert list((pipeline_models / "work-b").iterdir()) == []


def test_bad_configs_give_one_clear_error(pipeline_models, capsys):
    bad = pipeline_models / "bad.yaml"
    bad.write_text("workdir: w\nbase_model: nowhere\nstages: {init: {}}\n", encoding="utf-8")
    assert main(["adapt", "pipeline", str(bad)]) == 2
    assert "base_model" in capsys.readouterr().err
    typo = pipeline_config(pipeline_models, {"train": {"learning_rat": 1.0}}, name="typo.yaml")
    assert main(["adapt", "pipeline", str(typo)]) == 2
    assert "unknown setting 'stages.train.learning_rat'" in capsys.readouterr().err
    assert main(["adapt", "pipeline", str(pipeline_models / "absent.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    broken = pipeline_models / "broken.yaml"
    broken.write_text("stages: [", encoding="utf-8")
    assert main(["adapt", "pipeline", str(broken)]) == 2
    error = capsys.readouterr().err
    assert "not valid YAML at line 1" in error
    assert len(error.strip().splitlines()) == 1
