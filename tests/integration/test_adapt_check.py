"""`lep-bench adapt check` end to end on a small Mistral and its OpenChat-style extension (random weights)."""

import json
from pathlib import Path

import pytest

from harness.demo.small_models import build_small_model
from harness.tokenizers.sample import SAMPLE_DIR
from lep.embedding_init import initialise
from lep.vocab_adaptation import AdaptationRequest, adapt_tokenizer
from tests.support.cli import run_cli


@pytest.fixture(scope="module")
def models(tmp_path_factory, reference_tokenizer) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("check")
    base = build_small_model(reference_tokenizer("mistral-7b"), work / "base", "mistral", tied=True, seed=1)
    tokenizer = adapt_tokenizer(
        AdaptationRequest(base=str(base), method="extend", corpus=[SAMPLE_DIR], out=work / "tok", new_vocab_size=900)
    )
    return {"base": base, "init": initialise(base, tokenizer, work / "init"), "work": work}


def _check(models: dict[str, Path], demo_flores: dict[str, Path], capsys, out: Path) -> tuple[int, str, str]:
    return run_cli(
        ["adapt", "check", "--original", models["base"], "--model", f"mean={models['init']}",
         "--held-out", f"ru={demo_flores['ru']}", f"en={demo_flores['en']}",
         "--shots", "2", "--sentences", "6", "--out", out],
        capsys,
    )  # fmt: skip


def test_check_writes_the_table_and_resumes_from_its_readings(models, demo_flores, capsys):
    out = models["work"] / "report"
    status, printed, _ = _check(models, demo_flores, capsys, out)
    assert status == 0, printed
    report = json.loads((out / "check.json").read_text(encoding="utf-8"))
    original, adapted = report["models"]
    assert [original["name"], adapted["name"]] == ["original", "mean"]
    assert adapted["made"]["recipe"] == "mean"
    ru, en = adapted["languages"]["ru"], adapted["languages"]["en"]
    assert ru["chars_per_token_original"] == original["languages"]["ru"]["chars_per_token"]
    assert ru["new_tokens"]["text_share"] > 0  # the gap's arithmetic: tests/unit/harness/adapt_check
    assert 0 <= ru["gap"]["aligned_share"] <= 1
    assert en["chars_per_token"] >= 0.98 * en["chars_per_token_original"]  # Latin words left out of the BPE
    for lang in ("ru", "en"):
        copy = report["models"][0]["languages"][lang]["copy"]
        assert copy["ci"][0] <= copy["rate"] <= copy["ci"][1] and ru["n"] == 6
    # the original against itself: its bits are its own, every Δ is zero
    assert original["languages"]["ru"]["bits_delta"]["value"] == 0.0
    assert (out / "check.png").stat().st_size > 1000 and "| mean | mean, untied |" in (out / "check.md").read_text()
    status, printed, _ = _check(models, demo_flores, capsys, out)
    assert status == 0 and printed.count("reused") == 2


def test_english_sentences_the_extension_tokenises_alike_get_the_same_bits(models, demo_flores, capsys):
    """Where the adapted tokenizer cuts a sentence as the original does and the rows are copies, the adapted model
    reads what the original reads: its logits of old tokens are the original's, and each log p is the original's
    less only the mass the new tokens take in the softmax (below 5% here), never more."""
    out = models["work"] / "report"
    if not (out / "readings" / "mean.json").is_file():
        _check(models, demo_flores, capsys, out)
    readings = {n: json.loads((out / "readings" / f"{n}.json").read_text())["reading"] for n in ("original", "mean")}
    pairs = zip(readings["original"]["languages"]["en"]["scored"], readings["mean"]["languages"]["en"]["scored"])
    same = [(a, b) for a, b in pairs if a["ids"] == b["ids"]]
    assert same, "no English sentence tokenised alike"
    for a, b in same:
        for original, adapted in zip(a["log_probs"], b["log_probs"]):
            assert original - 0.05 < adapted <= original + 1e-4


def test_check_refuses_a_folder_that_is_not_a_model(models, demo_flores, capsys, tmp_path):
    status, _, err = run_cli(
        ["adapt", "check", "--original", models["base"], "--model", f"x={tmp_path}",
         "--held-out", f"ru={demo_flores['ru']}", f"en={demo_flores['en']}",
         "--sentences", "6", "--out", tmp_path / "o"],
        capsys,
    )  # fmt: skip
    assert status == 2 and "not a Hugging Face model folder" in err and "Traceback" not in err
    status, _, err = run_cli(
        ["adapt", "check", "--original", models["base"], "--model", f"m={models['init']}",
         "--held-out", f"ru={demo_flores['ru']}", f"en={demo_flores['en']}", "--sentences", "50", "--out", tmp_path],
        capsys,
    )  # fmt: skip
    assert status == 2 and "lower --sentences" in err
