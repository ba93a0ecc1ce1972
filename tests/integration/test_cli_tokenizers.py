"""`lep-bench tokenizers` end to end: outputs, published figures on FLORES, and bad input."""

import json

import pytest

from harness.cli import main
from tests.support.cli import run_cli


def test_default_run_measures_the_shipped_flores_sample(tmp_path, capsys):
    assert main(["tokenizers", "--tokenizer", "mistral-7b", "--tokenizer", "llama-3", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["embedded_sample"] is True
    assert metrics["reference"] == "mistral-7b"
    names = [t["name"] for t in metrics["tokenizers"]]
    assert names == ["mistral-7b", "llama-3"]
    llama = metrics["tokenizers"][1]
    assert llama["languages"]["ru"]["chars_per_token"] > metrics["tokenizers"][0]["languages"]["ru"]["chars_per_token"]
    assert llama["nsl_vs_reference"]["ru"] < 1.0
    assert llama["parity_ru_en"] > 1.0
    assert (tmp_path / "chars_per_token.png").read_bytes()[:4] == b"\x89PNG"
    assert "FLORES-200 devtest as shipped with lep-bench" in (tmp_path / "tokenizers.md").read_text(encoding="utf-8")
    assert "No --corpus given" in capsys.readouterr().out


def test_flores_figures_match_the_published_ones(tmp_path, flores):
    args = ["tokenizers", "--tokenizer", "llama-3", "--tokenizer", "mistral-7b", "--tokenizer", "openchat-3.5"]
    args += ["--corpus", f"ru={flores['ru']}", "--corpus", f"en={flores['en']}"]
    args += ["--parallel", str(flores["ru"]), str(flores["en"]), "--reference", "llama-3", "--out", str(tmp_path)]
    assert main(args) == 0
    metrics = {t["name"]: t for t in json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))["tokenizers"]}
    cpt = {
        name: {lang: m["languages"][lang]["chars_per_token"] for lang in ("ru", "en")} for name, m in metrics.items()
    }
    # Issue figures: LLaMa-3 about 3.24 (ru) and 4.86 (en), Mistral about 2.55 and 4.40.
    assert cpt["llama-3"]["ru"] == pytest.approx(3.24, abs=0.005)
    assert cpt["llama-3"]["en"] == pytest.approx(4.86, abs=0.005)
    assert cpt["mistral-7b"]["ru"] == pytest.approx(2.55, abs=0.01)
    assert cpt["mistral-7b"]["en"] == pytest.approx(4.40, abs=0.005)
    assert cpt["openchat-3.5"] == cpt["mistral-7b"]
    assert metrics["llama-3"]["nsl_vs_reference"] == {"ru": 1.0, "en": 1.0}
    assert metrics["mistral-7b"]["nsl_vs_reference"]["ru"] > 1.2
    assert metrics["mistral-7b"]["vocabulary_overlap_with_reference"]["shared_entries"] > 20000


def _assert_clean_error(result: tuple[int, str, str], *fragments: str) -> None:
    status, _, err = result
    assert status == 2, err
    message = " ".join(err.split())  # rich may wrap long lines
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ("does not exist",)),
        (b"\n\n", ("holds no text",)),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", ("looks binary",)),
        ("Привет".encode("cp1251") + b"\n", ("not UTF-8",)),
    ],
    ids=["missing", "empty", "binary", "non-utf8"],
)
def test_bad_corpus_gives_one_clear_error(tmp_path, capsys, content, fragments):
    corpus = tmp_path / "corpus.txt"
    if content is not None:
        corpus.write_bytes(content)
    out = tmp_path / "out"
    result = run_cli(["tokenizers", "--tokenizer", "mistral-7b", "--corpus", f"ru={corpus}", "--out", out], capsys)
    _assert_clean_error(result, "corpus.txt", *fragments)
    assert not out.exists()


def test_unknown_tokenizer_name_gives_one_clear_error(tmp_path, capsys):
    result = run_cli(["tokenizers", "--tokenizer", "gpt-7", "--out", tmp_path / "out"], capsys)
    _assert_clean_error(result, "unknown tokenizer 'gpt-7'", "llama-3")


def test_malformed_corpus_argument_is_a_usage_error(capsys):
    status, _, err = run_cli(["tokenizers", "--corpus", "no-language-here"], capsys)
    assert status == 2
    assert "argument --corpus: expected NAME=PATH" in err
    assert "'no-language-here'" in err


def test_misaligned_parallel_files(tmp_path, capsys):
    ru, en = tmp_path / "ru.txt", tmp_path / "en.txt"
    ru.write_text("один\nдва\n", encoding="utf-8")
    en.write_text("one\n", encoding="utf-8")
    args = ["--tokenizer", "mistral-7b", "--corpus", f"ru={ru}", "--parallel", ru, en, "--out", tmp_path / "o"]
    result = run_cli(["tokenizers", *args], capsys)
    _assert_clean_error(result, "not aligned")
