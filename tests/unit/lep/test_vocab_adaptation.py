"""Vocabulary variants on the real LLaMa-3 and Mistral/OpenChat tokenizers, trained on a little real Russian text."""

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoTokenizer

from harness.cli import main
from harness.tokenizers.sample import SAMPLE_DIR as SAMPLE_TEXT
from lep.errors import InputError, TokenizerError
from lep.stage_settings import Method
from lep.token_bytes import is_byte_level, spells_cyrillic
from lep.tokenizer_training import train_sentencepiece
from lep.vocab_adaptation import AdaptationRequest, adapt_tokenizer

MAX_CHARS = 600_000


@pytest.fixture(scope="module")
def corpus(data_dir: Path) -> list[Path]:
    """Real Russian text: the size-4000-6000 vocabularies trained below need 600k characters of it."""
    return [data_dir / "corpora" / "ru" / "wiki-leipzig-10k"]


@pytest.fixture(scope="module")
def sample_corpus() -> list[Path]:
    """The Russian text the repository ships: enough for the tests that stop before or just after training."""
    return [SAMPLE_TEXT / "ru.txt"]


@pytest.fixture(scope="module")
def flores_lines(flores) -> list[str]:
    return flores["ru"].read_text(encoding="utf-8").splitlines() + flores["en"].read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def build(tmp_path_factory, corpus):
    made: dict[tuple, Path] = {}

    def get(base: str, method: Method, **sizes) -> Path:
        key = (base, method, tuple(sorted(sizes.items())))
        if key not in made:
            out = tmp_path_factory.mktemp("adapted") / f"{base}-{method}"
            made[key] = adapt_tokenizer(
                AdaptationRequest(base=base, method=method, corpus=corpus, out=out, max_chars=MAX_CHARS, **sizes)
            )
        return made[key]

    return get


def _chars_per_token(tokenizer, lines: list[str]) -> float:
    return sum(map(len, lines)) / sum(len(tokenizer.encode(x, add_special_tokens=False)) for x in lines)


def _assert_lossless(tokenizer, lines: list[str]) -> None:
    broken = [x for x in lines if tokenizer.decode(tokenizer.encode(x, add_special_tokens=False)) != x]
    assert not broken, broken[:3]


@pytest.mark.parametrize("base", ["llama-3", "openchat-3.5"])
def test_extend_keeps_every_base_id_and_gains_on_russian(base, build, reference_tokenizer, flores, flores_lines):
    out = build(base, "extend", new_vocab_size=4000)
    adapted, original = AutoTokenizer.from_pretrained(out), reference_tokenizer(base)
    assert len(adapted) > len(original)
    assert adapted.convert_ids_to_tokens(list(range(len(original)))) == original.convert_ids_to_tokens(
        list(range(len(original)))
    )
    _assert_lossless(adapted, flores_lines)
    russian = flores["ru"].read_text(encoding="utf-8").splitlines()
    assert _chars_per_token(adapted, russian) > 1.03 * _chars_per_token(original, russian)  # full-size gains: benchmark
    assert adapted.chat_template == original.chat_template
    assert adapted.special_tokens_map == original.special_tokens_map
    assert adapted("да").input_ids[0] == original.bos_token_id
    manifest = json.loads((out / "lep_tokenizer.json").read_text(encoding="utf-8"))
    assert manifest["method"] == "extend"
    assert manifest["base_ids_unchanged"] is True
    assert manifest["vocab_size"] == len(adapted)
    assert manifest["base_vocab_size"] == len(original)
    assert manifest["corpus"]["chars"] >= MAX_CHARS
    assert len(manifest["corpus"]["sha256"]) == 64


def test_extend_leaves_english_to_the_base_unless_told_to_keep_latin_words(build, reference_tokenizer, flores):
    """The new merges go first, so Latin ones learnt from Russian text would outrank the base's English merges: by
    default the new BPE's text loses its Latin-script words and English stays within 2% of the base."""
    original = reference_tokenizer("openchat-3.5")
    english = flores["en"].read_text(encoding="utf-8").splitlines()
    base_english = _chars_per_token(original, english)
    # every new token, so that only latin_words differs (Cyrillic-only new tokens keep English exactly: below)
    dropped = build("openchat-3.5", "extend", new_vocab_size=4000, new_tokens="all")  # 1.00x; kept 0.99x
    kept = build("openchat-3.5", "extend", new_vocab_size=4000, latin_words="keep", new_tokens="all")
    assert json.loads((dropped / "lep_tokenizer.json").read_text())["settings"]["latin_words"] == "dropped"
    assert json.loads((kept / "lep_tokenizer.json").read_text())["settings"]["latin_words"] == "kept"
    with_drop = _chars_per_token(AutoTokenizer.from_pretrained(dropped), english) / base_english
    with_keep = _chars_per_token(AutoTokenizer.from_pretrained(kept), english) / base_english
    assert with_drop >= 0.98
    assert with_keep < with_drop


@pytest.mark.parametrize("method", ["bpe", "unigram"])
@pytest.mark.parametrize(("base", "size"), [("llama-3", 6000), ("openchat-3.5", 6000)])
def test_replacement_keeps_specials_roles_and_template(method, base, size, build, reference_tokenizer, flores_lines):
    adapted, original = AutoTokenizer.from_pretrained(build(base, method, vocab_size=size)), reference_tokenizer(base)
    specials = [t.content for t in original.added_tokens_decoder.values()]
    assert len(adapted) == size + len([s for s in specials if s not in ("<unk>", "<s>", "</s>")])
    assert {t.content for t in adapted.added_tokens_decoder.values()} == set(specials)
    assert adapted.special_tokens_map == original.special_tokens_map
    assert adapted.chat_template == original.chat_template
    bos = adapted("тест").input_ids[0]
    assert bos == adapted.bos_token_id
    assert adapted.convert_ids_to_tokens(bos) == original.bos_token
    _assert_lossless(adapted, flores_lines)
    messages = [{"role": "user", "content": "Привет"}]
    assert adapted.apply_chat_template(messages, tokenize=False) == original.apply_chat_template(
        messages, tokenize=False
    )


def test_optimize_writes_an_id_map_of_kept_tokens(build, reference_tokenizer, flores_lines):
    out = build("llama-3", "optimize", keep=3000, new_vocab_size=4000, vocab_size=4500)
    adapted, original = AutoTokenizer.from_pretrained(out), reference_tokenizer("llama-3")
    id_map = {int(k): v for k, v in json.loads((out / "old_to_new_ids.json").read_text(encoding="utf-8")).items()}
    assert all(adapted.convert_ids_to_tokens(new) == original.convert_ids_to_tokens(old) for old, new in id_map.items())
    assert all(old in id_map for old in range(128000, 128256))  # every special token survives
    single_bytes = [i for t, i in original.backend_tokenizer.get_vocab(with_added_tokens=False).items() if len(t) == 1]
    assert len(single_bytes) == 256
    assert all(i in id_map for i in single_bytes)
    assert 3000 + 256 <= len(id_map) < 10000
    assert 4500 <= len(adapted) <= 4510  # the target size, overshot only by the parts of the last token
    _assert_lossless(adapted, flores_lines)
    assert json.loads((out / "lep_tokenizer.json").read_text(encoding="utf-8"))["id_map"] == "old_to_new_ids.json"


def test_empty_corpus_writes_nothing(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(InputError, match="holds no text"):
        adapt_tokenizer(
            AdaptationRequest(base="mistral-7b", method="extend", corpus=[empty], out=out, new_vocab_size=500)
        )
    assert not out.exists()


def test_vocab_size_below_special_tokens_writes_nothing(tmp_path, sample_corpus):
    out = tmp_path / "out"
    with pytest.raises(InputError, match="too small: the base has 256 special tokens"):
        adapt_tokenizer(AdaptationRequest(base="llama-3", method="bpe", corpus=sample_corpus, out=out, vocab_size=200))
    assert not out.exists()


def test_extend_refuses_a_non_bpe_base(tmp_path, sample_corpus):
    backend = Tokenizer(models.WordLevel({"[UNK]": 0, "да": 1}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.save(str(tmp_path / "tokenizer.json"))
    out = tmp_path / "out"
    with pytest.raises(TokenizerError, match="not a BPE tokenizer"):
        adapt_tokenizer(
            AdaptationRequest(
                base=str(tmp_path / "tokenizer.json"),
                method="extend",
                corpus=sample_corpus,
                out=out,
                new_vocab_size=1000,
            )
        )
    assert not out.exists()


def test_cli_refuses_to_overwrite_and_reports_one_line(tmp_path, sample_corpus, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    args = [
        "adapt",
        "tokenizer",
        "--base",
        "mistral-7b",
        "--method",
        "extend",
        "--new-vocab-size",
        "500",
        "--corpus",
        str(sample_corpus[0]),
        "--out",
        str(out),
    ]
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_sentencepiece_training_uses_the_authors_settings():
    texts = ["ＡＢＣ ＡＢＣ пример 12345 текста"] * 50 + ["другой пример 678 текста ABC"] * 50
    pieces = [piece for piece, _ in train_sentencepiece(texts, 300, "bpe")]
    assert "▁ABC" in pieces
    assert not any("Ａ" in p for p in pieces)
    assert not any(sum(c.isdigit() for c in p) > 1 for p in pieces)  # split digits
    assert not any(p.startswith("<0x") for p in pieces)  # the byte pieces are SentencePiece's, not returned here


@pytest.mark.parametrize(("base", "method"), [("llama-3", "bpe"), ("openchat-3.5", "unigram")])
def test_sentencepiece_replacement_is_sentencepiece_style_and_lossless(
    base, method, build, reference_tokenizer, flores_lines
):
    out = build(base, method, vocab_size=6000, trainer="sentencepiece")
    adapted, original = AutoTokenizer.from_pretrained(out), reference_tokenizer(base)
    assert adapted.special_tokens_map == original.special_tokens_map
    assert adapted.chat_template == original.chat_template
    tokens = adapted.tokenize("Привет, мир 2024 ☃")
    assert tokens[0].startswith("▁")
    assert ["2", "0", "2", "4"] == [t for t in tokens if t.isdigit()]
    assert tokens[-3:] == ["<0xE2>", "<0x98>", "<0x83>"]  # an unseen character falls back to bytes
    _assert_lossless(adapted, flores_lines)
    manifest = json.loads((out / "lep_tokenizer.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["trainer"] == "sentencepiece"


def test_optimize_keeps_the_lowest_ids_when_asked(build, reference_tokenizer):
    out = build("llama-3", "optimize", keep=3000, new_vocab_size=4000, vocab_size=4500, keep_by="lowest-ids")
    id_map = {int(k): v for k, v in json.loads((out / "old_to_new_ids.json").read_text(encoding="utf-8")).items()}
    assert all(i in id_map for i in range(3000))
    frequent = {
        int(k)
        for k in json.loads(
            (
                build("llama-3", "optimize", keep=3000, new_vocab_size=4000, vocab_size=4500) / "old_to_new_ids.json"
            ).read_text(encoding="utf-8")
        )
    }
    assert set(id_map) != frequent


def test_ignore_merges_is_inherited_or_set(build):
    def model(out: Path) -> dict:
        return json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]

    assert model(build("llama-3", "extend", new_vocab_size=4000))["ignore_merges"] is True  # LLaMa-3 has it on
    assert model(build("openchat-3.5", "extend", new_vocab_size=4000))["ignore_merges"] is False
    out = build("openchat-3.5", "extend", new_vocab_size=4000, ignore_merges=True)
    assert model(out)["ignore_merges"] is True
    assert json.loads((out / "lep_tokenizer.json").read_text(encoding="utf-8"))["settings"]["ignore_merges"] is True


@pytest.mark.parametrize("base", ["llama-3", "openchat-3.5"])
def test_extend_adds_only_cyrillic_tokens_so_text_without_cyrillic_is_cut_as_the_base_cuts_it(
    base, build, reference_tokenizer, flores
):
    """By default only new tokens with a Cyrillic letter (and their merges) are added: every English sentence gets
    the base's very ids. With new_tokens=all the Russian BPE's numbers and punctuation come too (the paper's)."""
    original = reference_tokenizer(base)
    english = flores["en"].read_text(encoding="utf-8").splitlines() + ["1901-1914, 25%, (x)!», 3.14 — «ok?..»"]
    default = AutoTokenizer.from_pretrained(build(base, "extend", new_vocab_size=4000))
    new = default.convert_ids_to_tokens(list(range(len(original), len(default))))
    assert new and all(spells_cyrillic(token, is_byte_level(default)) for token in new)
    for line in english:
        assert default.encode(line, add_special_tokens=False) == original.encode(line, add_special_tokens=False), line
    if base == "llama-3":  # byte-level: the Russian BPE learns number and punctuation merges the base lacks
        every = AutoTokenizer.from_pretrained(build(base, "extend", new_vocab_size=4000, new_tokens="all"))
        extra = every.convert_ids_to_tokens(list(range(len(original), len(every))))
        assert any(not spells_cyrillic(token, True) for token in extra)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "bpe", "vocab_size": 500, "new_tokens": "cyrillic"}, "new_tokens is a setting of method extend"),
        ({"method": "extend", "new_vocab_size": 500, "trainer": "sentencepiece"}, "use it with method bpe or unigram"),
        (
            {"method": "optimize", "keep": 10, "new_vocab_size": 500, "keep_by": "rarest"},
            "keep_by='rarest': must be 'frequency' or 'lowest-ids'",
        ),
        ({"method": "unigram", "vocab_size": 500, "ignore_merges": True}, "ignore_merges is a BPE setting"),
    ],
)
def test_bad_tokenizer_options_write_nothing(settings, message, tmp_path, sample_corpus):
    out = tmp_path / "out"
    with pytest.raises(InputError, match=message):
        adapt_tokenizer(AdaptationRequest(base="mistral-7b", corpus=sample_corpus, out=out, **settings))
    assert not out.exists()
