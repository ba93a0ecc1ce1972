"""The demo's profiles: the Russian training text, bad settings (CI's demo steps run the smollm2 and synthetic profiles end to end)."""

import pytest

from harness.cli import main
from harness.russian_corpus import without_latin, write_russian_corpus


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
    assert without_latin("ООО «Газпром-Neft» и T-34") == "ООО и"
    source.write_text("changed\n", encoding="utf-8")
    assert write_russian_corpus([source], out) == out and "Москва" in out.read_text(
        encoding="utf-8"
    )  # written once, reused


def test_unknown_profile_and_bad_data_dir_fail_in_one_line(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--profile", "nonsense"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err
    monkeypatch.setenv("LEP_DATA_DIR", str(tmp_path / "absent"))
    assert main(["compare", "--workdir", str(tmp_path / "w"), "--reports", str(tmp_path / "r"), "--backend", "hf"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "LEP_DATA_DIR" in err
