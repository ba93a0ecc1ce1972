"""tasks_ru/ifeval*.py: every instruction checker on hand-made responses in both languages, strict and loose, as the
authors' code (llmtf_open 504bd7f) scores them; the majority over samples; the docs as the files give them; and bad
data named by file, row and field."""

import json

import pytest

from harness.run.evaluation import PromptSettings, evaluate_task, task_manager
from lep.errors import InputError
from tasks_ru.ifeval import FILES, FOLDER, followed_share, load, loose_variants, process_results, responses
from tasks_ru.ifeval_checks import INSTRUCTIONS, LANGUAGES, follows
from tests.support.ifeval_fixture import case_groups, fixture_rows, write_ifeval_fixture

GROUPS = case_groups()
CASES = [(g, strict, loose, response) for g in GROUPS for strict, loose, response in g["cases"]]
NO_LOOSE_ONLY = {"detectable_content:number_placeholders", "detectable_format:number_highlighted_sections"}


@pytest.mark.parametrize(
    ("group", "strict", "loose", "response"),
    CASES,
    ids=[f"{g['lang']}-{g['id'].split(':')[1]}-{i}" for i, (g, *_) in enumerate(CASES)],
)
def test_hand_made_responses_are_scored_as_the_authors_code_scores_them(group, strict, loose, response):
    lang = LANGUAGES[group["lang"]]
    assert follows(group["id"], group["kwargs"], response, lang) is strict
    assert any(follows(group["id"], group["kwargs"], v, lang) for v in loose_variants(response)) is loose


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_instruction_has_a_followed_a_broken_and_a_loose_only_case(lang):
    kinds: dict[str, set[tuple[bool, bool]]] = {}
    for group in GROUPS:
        if group["lang"] == lang:
            kinds.setdefault(group["id"], set()).update((s, lo) for s, lo, _ in group["cases"])
    assert set(kinds) == set(INSTRUCTIONS)
    for instruction, seen in kinds.items():
        wanted = {(True, True), (False, False)} | (set() if instruction in NO_LOOSE_ONLY else {(False, True)})
        assert wanted <= seen, instruction


def _doc(lang: str, instructions: list[str], kwargs: list[dict]) -> dict:
    return {"lang": lang, "instruction_id_list": instructions, "kwargs": kwargs}


def test_a_prompt_passes_when_every_instruction_does_and_each_is_scored_in_order():
    doc = _doc("ru", ["punctuation:no_comma", "startend:quotation"], [{}, {}])
    result = process_results(doc, ['Итак, ответ:\n"Ответ без запятых."'])
    assert result == {
        "prompt_level_strict_acc": False,
        "prompt_level_loose_acc": True,
        "inst_level_strict_acc": [False, False],
        "inst_level_loose_acc": [True, True],
        "score": 0.0,
    }
    assert process_results(doc, ['"Ответ без запятых."'])["inst_level_strict_acc"] == [True, True]


def test_several_samples_count_by_majority_and_a_blank_one_follows_nothing():
    doc = _doc("en", ["punctuation:no_comma"], [{}])
    ok, broken, blank = "No commas here.", "Yes, commas.", " \n "
    assert process_results(doc, [[ok, ok, broken, ok, broken]])["inst_level_strict_acc"] == [True]
    assert process_results(doc, [[ok, ok, blank, broken, broken]])["prompt_level_strict_acc"] is False
    assert process_results(doc, [[ok, ok, blank, broken]])["prompt_level_loose_acc"] is False  # 2 of 4 is no majority
    assert process_results(doc, [blank])["inst_level_loose_acc"] == [False]


def test_the_filter_keeps_every_sample_and_one_answer_as_itself():
    assert responses([["a"], ["b", "c"]], [{}, {}]) == ["a", ["b", "c"]]


def test_instruction_level_accuracy_is_instructions_followed_over_instructions():
    assert followed_share([[True, False, True], [False], [True, True]]) == pytest.approx(4 / 6)


def test_kwargs_that_datasets_fills_with_none_are_dropped(tmp_path):
    docs = load("en", data_dir=str(write_ifeval_fixture(tmp_path)))["test"]
    two = docs[len(docs) - 1]
    assert len(two["instruction_id_list"]) == 2
    assert any(value is None for kwargs in two["kwargs"] for value in kwargs.values())  # what `datasets` made of them
    assert len(process_results(two, ["An answer."])["inst_level_strict_acc"]) == 2


def test_the_files_serve_every_prompt_with_its_fields_and_the_chat_turn(data_dir):
    for lang, name in FILES.items():
        rows = [json.loads(line) for line in (data_dir / FOLDER / name).read_text(encoding="utf-8").splitlines()]
        docs = load(lang, data_dir=str(data_dir))["test"]
        assert len(docs) == len(rows) == 541
        for row, doc in zip(rows[:50], docs):
            assert {k: doc[k] for k in ("key", "prompt", "instruction_id_list")} == {
                k: row[k] for k in row if k != "kwargs"
            }
            assert [{k: v for k, v in kw.items() if v is not None} for kw in doc["kwargs"]] == row["kwargs"]
            assert (doc["query"], doc["description"], doc["prefix"], doc["lang"]) == (row["prompt"], "", "", lang)


GOOD = fixture_rows("ru")[0]
BAD_ROWS = [
    ({**GOOD, "instruction_id_list": ["keywords:synonyms"]}, r"item 0 'keywords:synonyms' is not one of IFEval's 25"),
    ({**GOOD, "kwargs": [{"keywords": "кошка"}]}, r"'keywords' should be a non-empty list of strings, not 'кошка'"),
    ({**GOOD, "kwargs": [{}]}, r"item 0 \(keywords:existence\) lacks \['keywords'\]"),
    ({**GOOD, "kwargs": [{"keywords": ["кот"], "n": 1}]}, r"has \['n'\], which keywords:existence does not take"),
    ({**GOOD, "kwargs": [{}, {}]}, r"has 1 instructions and field 'kwargs' 2 objects"),
    ({**GOOD, "kwargs": "[]"}, r"field 'kwargs' should be a list, not str"),
    (
        {
            **GOOD,
            "instruction_id_list": ["length_constraints:number_words"],
            "kwargs": [{"num_words": "300", "relation": "at least"}],
        },
        r"'num_words' should be a non-negative integer, not '300'",
    ),
    (
        {
            **GOOD,
            "instruction_id_list": ["length_constraints:number_words"],
            "kwargs": [{"num_words": 3, "relation": "exactly"}],
        },
        r"'relation' should be one of \['less than', 'at least'\], not 'exactly'",
    ),
    ("{not json", r"not a JSON row"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS, ids=[str(i) for i in range(len(BAD_ROWS))])
def test_bad_rows_are_one_line_naming_file_row_and_field(tmp_path, row, message):
    """Through lm-eval's task loading, no model: bad data stops the loader before any model would answer."""
    root = write_ifeval_fixture(tmp_path, {"ru": [GOOD, row]})
    with pytest.raises(InputError, match=rf"^ru_ifeval: .*{FOLDER}/ruIFEval_v0.1.jsonl:\d+: .*{message}") as error:
        evaluate_task(None, "ru_ifeval", PromptSettings(), task_manager(root, None))
    assert "\n" not in str(error.value)


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    root = write_ifeval_fixture(tmp_path)
    (root / FOLDER / FILES["en"]).unlink()
    with pytest.raises(InputError, match=rf"^en_ifeval: task data file not found: .*{FOLDER}/enIFEval.jsonl$"):
        evaluate_task(None, "en_ifeval", PromptSettings(), task_manager(root, None))
