"""The experiment YAML's one schema: every bad key, value or cross-key rule is one line naming the file and the
fix; paths resolve against the file's folder."""

import pytest

from harness.experiment import load_experiment
from harness.sweep import experiment_requests
from lep.errors import InputError


@pytest.mark.parametrize(
    "text, message",
    [
        ("models: []\n", "models=[]: List should have at least 1 item"),
        ("models: [{name: a, path: m}]\ncolour: red\n", "unknown setting 'colour'"),
        ("models: [{name: a, path: m, role: judge}]\n", "models[a].role='judge': must be 'reference', 'baseline'"),
        ("models: [{name: a}]\n", "models[a].path is missing"),
        ("models: [{name: a, path: m, size: 7}]\n", "unknown setting 'models[a].size'"),
        ("models: [{name: a, path: m}]\nsuites: [mmlu]\n", "suites[0]='mmlu': must be"),
        ("models: [unclosed\n", "is not valid YAML at line"),
        ("- a\n- b\n", "must be a YAML mapping of settings, not list"),
        ("models: [{name: a, path: m}, {name: a, path: n}]\n", "models a appear more than once"),
        ("models: [{name: a, path: m}]\ntasks: [ru_open_nope]\n", "task(s) ru_open_nope are in none of the suites"),
        ("models: [{name: a, path: m}]\npublished: [table9]\n", "published[0]='table9' is not one of the paper's"),
        ("models: [{name: a, path: m}]\nexecutor: slurm\n", "executor='slurm': must be 'local' or 'ray'"),
        ("models: [{name: a, path: m}]\nray: {retries: -1}\n", "ray.retries=-1: must be greater than or equal to 0"),
        ("models: [{name: a, path: m}]\nspeed: {trials: 2}\n", "speed.trials=2: must be greater than or equal to 5"),
        ("models: [{name: a, path: m}]\nspeed: {colour: red}\n", "unknown setting 'speed.colour'"),
        ("models: [{name: a, path: m}]\nnum_concurrent: 0\n", "num_concurrent=0: must be greater than"),
        ("models: [{name: a, path: m}]\nbatch_size: 0\n", "batch_size=0: must be greater than"),
    ],
)
def test_a_bad_experiment_is_one_error_naming_the_file_and_the_field(tmp_path, text, message):
    config = tmp_path / "experiment.yaml"
    config.write_text(text)
    with pytest.raises(InputError) as error:
        load_experiment(config)
    assert message in str(error.value)
    assert str(config) in str(error.value)


def test_every_problem_of_a_file_is_named_at_once(tmp_path):
    config = tmp_path / "experiment.yaml"
    config.write_text("models: [{name: a, path: m}]\nlimit: ten\nshots: -1\n")
    with pytest.raises(InputError) as error:
        load_experiment(config)
    assert "limit='ten'" in str(error.value)
    assert "shots=-1" in str(error.value)


def test_paths_resolve_against_the_config_folder(tmp_path):
    config = tmp_path / "sub" / "experiment.yaml"
    config.parent.mkdir()
    config.write_text("name: x\nmodels: [{name: a, path: ../m, tokenizer: openchat-3.5, role: reference}]\nruns: r\n")
    experiment = load_experiment(config)
    model = experiment.models[0]
    assert model.path == str((tmp_path / "m").resolve())
    assert model.tokenizer == "openchat-3.5"  # a reference tokenizer's name stays a name
    assert model.role == "reference"
    assert experiment.runs == (tmp_path / "sub" / "r").resolve()
    assert experiment.reports == (tmp_path / "sub" / "reports").resolve()  # the defaults too


def test_a_caller_names_the_folder_and_overrides_keys(tmp_path):
    config = tmp_path / "experiment.yaml"
    config.write_text("models: [{name: a, path: m}]\nray: {retries: 5}\n")
    experiment = load_experiment(config, base=tmp_path / "work", overrides={"ray": {"address": "auto"}, "limit": 3})
    assert experiment.models[0].path == str((tmp_path / "work" / "m").resolve())
    assert experiment.ray.retries == 5  # ray settings merge key by key
    assert experiment.ray.address == "auto"
    assert experiment.limit == 3
    assert experiment.name == "experiment"  # the file's name


def test_request_batching_reaches_every_run(tmp_path):
    """batch_size and num_concurrent of the YAML are what each run's backend sends (and records)."""
    (tmp_path / "m").mkdir()
    config = tmp_path / "experiment.yaml"
    config.write_text("models: [{name: a, path: m}]\nbackend: vllm-server\nbatch_size: 1\nnum_concurrent: 32\n")
    [(request, _)] = experiment_requests(load_experiment(config))
    assert (request.backend.batch_size, request.backend.num_concurrent) == (1, 32)
