"""The demo's parts: the Russian training text (keyed by its inputs), its YAMLs, bad settings (CI's demo steps run
the smollm2 and synthetic profiles end to end)."""

import pytest

from harness.demo.profiles import CONFIGS, DEMO_PROFILES
from harness.demo.russian_corpus import russian_corpus, write_russian_corpus
from harness.experiment import load_experiment
from lep.pipeline_config import load_pipeline
from tests.support.cli import run_cli


def test_russian_corpus_drops_latin_words_only(tmp_path):
    source = tmp_path / "ru.txt"
    source.write_text(
        "Компания Apple выпустила iPhone 15 в 2023 году.\nHello world\nМосква — столица России.\n", encoding="utf-8"
    )
    out = write_russian_corpus([source], tmp_path / "russian.txt")
    assert out.read_text(encoding="utf-8").splitlines() == [
        "Компания выпустила 15 в 2023 году.",
        "Москва — столица России.",
    ]


def test_the_training_text_follows_its_sources(tmp_path):
    """The stale-corpus defect: a run with LEP_DATA_DIR after one without trained on the old text."""
    embedded, data = tmp_path / "embedded.txt", tmp_path / "data.txt"
    embedded.write_text("Маленький встроенный текст.\n", encoding="utf-8")
    data.write_text("Настоящий корпус из папки данных.\n", encoding="utf-8")
    out = russian_corpus([embedded], tmp_path / "corpus", None, print)
    assert "встроенный" in out.read_text(encoding="utf-8")
    assert russian_corpus([data], tmp_path / "corpus", None, print) == out
    assert "Настоящий" in out.read_text(encoding="utf-8")  # another source: written again
    data.write_text("Исправленный корпус.\n", encoding="utf-8")
    assert "Исправленный" in russian_corpus([data], tmp_path / "corpus", None, print).read_text(encoding="utf-8")


def test_the_same_sources_reuse_the_text(tmp_path, monkeypatch):
    source = tmp_path / "ru.txt"
    source.write_text("Текст.\n", encoding="utf-8")
    russian_corpus([source], tmp_path / "corpus", None, print)
    monkeypatch.setattr("harness.demo.russian_corpus.write_russian_corpus", lambda *_: pytest.fail("rewritten"))
    russian_corpus([source], tmp_path / "corpus", None, print)


@pytest.mark.parametrize("profile", sorted(DEMO_PROFILES))
def test_every_profiles_yamls_load_through_the_users_schemas(profile, tmp_path):
    demo = DEMO_PROFILES[profile]
    corpus = {"corpus": [tmp_path / "ru.txt"]}
    pipeline = load_pipeline(CONFIGS / demo.pipeline, base=tmp_path, overrides=corpus if profile == "synthetic" else {})
    assert pipeline.workdir == tmp_path / "lep"
    assert pipeline.stages.train is not None
    experiment = load_experiment(CONFIGS / demo.experiment, base=tmp_path)
    assert experiment.runs == tmp_path / "runs"
    assert experiment.models[0].role == "reference"
    assert experiment.speed is not None


def test_unknown_profile_and_bad_data_dir_fail_in_one_line(tmp_path, monkeypatch, capsys):
    status, _, err = run_cli(["compare", "--profile", "nonsense"], capsys)
    assert status == 2
    assert "invalid choice" in err
    monkeypatch.setenv("LEP_DATA_DIR", str(tmp_path / "absent"))
    workdir = ["--workdir", tmp_path / "w", "--reports", tmp_path / "r", "--backend", "hf"]
    status, _, err = run_cli(["compare", *workdir], capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert "LEP_DATA_DIR" in err
