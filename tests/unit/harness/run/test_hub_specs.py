"""A model spec that names a hub id: resolved to its cached snapshot, recorded as hub (id, revision, commit) or as
local when a dir of that name wins, and fingerprinted by its commit: a new commit is a new run, the same commit in
another cache or under another revision name the same run."""

import shutil
from pathlib import Path

import pytest
from huggingface_hub import constants

from harness.experiment import load_experiment
from harness.run.backends import BackendSettings
from harness.run.evaluation import PromptSettings
from harness.run.model_spec import fingerprints, parse_spec, resolve_spec
from harness.run.request import RunRequest
from lep.errors import InputError
from tests.support.hub_cache import add_snapshot

FIRST, SECOND = "1" * 40, "2" * 40


def _run_dir(spec_text: str, out: Path, demo_data: Path) -> Path:
    request = RunRequest(
        spec=resolve_spec(parse_spec(spec_text)),
        suite="ru-open",
        tasks=("ru_open_terra",),
        out=out,
        data_dir=demo_data,
        backend=BackendSettings(backend="hf", device="cpu"),
        prompts=PromptSettings(limit=2),
    )
    return request.run_dir()


def test_a_hub_id_is_its_snapshot_recorded_with_its_commit(hub_cache, model_files):
    snapshot = add_snapshot(hub_cache, "org/tiny", model_files, FIRST, refs=("v1",))
    spec = parse_spec("org/tiny@v1")
    assert (spec.name, spec.path) == ("tiny", "org/tiny@v1")  # the repo's name names the run folder
    resolved = resolve_spec(spec)
    assert resolved.path == str(snapshot)
    assert resolved.context_length() == 1024  # read from the snapshot
    sources = resolved.record()["sources"]
    hub = {"source": "hub", "id": "org/tiny", "revision": "v1", "commit": FIRST}
    assert sources == {"model": hub, "tokenizer": hub}  # the model's own tokenizer
    assert fingerprints(resolved)["model"] == fingerprints(resolved)["tokenizer"] == f"hub:org/tiny@{FIRST}"
    assert resolve_spec(resolved) == resolved  # resolving again keeps what was found


def test_a_new_commit_is_a_new_run_and_the_same_commit_anywhere_the_same_run(
    hub_cache, model_files, tmp_path, demo_data, monkeypatch
):
    add_snapshot(hub_cache, "org/tiny", model_files, FIRST)
    first = _run_dir("org/tiny", tmp_path / "runs", demo_data)
    assert _run_dir("org/tiny", tmp_path / "runs", demo_data) == first
    assert _run_dir(f"org/tiny@{FIRST}", tmp_path / "runs", demo_data) == first  # the same commit, named otherwise

    other = tmp_path / "other-home" / "hub"  # the same commit in another cache (its files' times differ)
    add_snapshot(other, "org/tiny", model_files, FIRST)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(other))
    assert _run_dir("org/tiny", tmp_path / "runs", demo_data) == first

    add_snapshot(other, "org/tiny", model_files, SECOND)  # main moves on; the files are even the same
    assert _run_dir("org/tiny", tmp_path / "runs", demo_data) != first


def test_a_local_dir_that_looks_like_an_id_wins_and_is_recorded_as_local(hub_cache, model_files, tmp_path, monkeypatch):
    add_snapshot(hub_cache, "org/tiny", model_files, FIRST)
    shutil.copytree(model_files, tmp_path / "org" / "tiny")
    monkeypatch.chdir(tmp_path)
    spec = resolve_spec(parse_spec("path=org/tiny,tokenizer=org/tiny"))
    assert spec.path == "org/tiny"
    assert spec.hub_model is None
    local = {"source": "local", "path": str(tmp_path / "org" / "tiny")}
    assert spec.record()["sources"] == {"model": local, "tokenizer": local}


def test_the_offline_miss_names_the_id_and_the_fix(hub_cache):
    with pytest.raises(InputError, match=r"hub id org/absent@main is not in the Hugging Face cache .*OFFLINE=1"):
        resolve_spec(parse_spec("org/absent"))


def test_experiment_models_and_tokenizers_may_be_hub_ids(hub_cache, model_files, tmp_path):
    snapshot = add_snapshot(hub_cache, "org/tiny", model_files, FIRST, refs=("main", "v1"))
    config = tmp_path / "experiment.yaml"
    config.write_text("models: [{name: a, path: org/tiny@v1, tokenizer: org/tiny}]\n")
    model = load_experiment(config).resolved_specs()[0]  # resolved when runs start, not at load
    assert model.path == str(snapshot)
    assert model.tokenizer == str(snapshot)  # main and v1 are the same commit here
    assert model.hub_model is not None and model.hub_model.revision == "v1"

    (tmp_path / "org" / "tiny").mkdir(parents=True)  # beside the config: a local dir, resolved from its folder
    config.write_text("models: [{name: a, path: org/tiny}]\n")
    assert load_experiment(config).resolved_specs()[0].path == str((tmp_path / "org" / "tiny").resolve())

    config.write_text("models: [{name: a, path: m, hub_model: {id: x/y, revision: main, commit: abc}}]\n")
    with pytest.raises(InputError, match="models.a..hub_model: is recorded when path or tokenizer is a hub id"):
        load_experiment(config)


def test_a_model_path_a_pipeline_builds_after_the_config_is_read_is_local_when_runs_start(hub_cache, tmp_path):
    """The demo reads its experiment before its models exist: `models/base` is not fetched from the hub then."""
    config = tmp_path / "experiment.yaml"
    config.write_text("models: [{name: a, path: models/base}]\n")
    experiment = load_experiment(config)
    (tmp_path / "models" / "base").mkdir(parents=True)
    assert experiment.resolved_specs()[0].path == str(tmp_path / "models" / "base")
