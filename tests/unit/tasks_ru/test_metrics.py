"""Each metric on hand-made cases whose scores were worked out by hand from llmtf's (958750c) formulas
(the working in the comments), and the `strict` profile where that code is wrong."""

import random

import pytest

from tasks_ru import hooks, metrics
from tasks_ru.mmlu_categories import category_of, headline
from tasks_ru.suites import SCORING_PROFILES, SUITES, summarise
from tasks_ru.token_counts import copy_source_tokens, count_tokens, cut_to_tokens, leading_space


def test_parus_counts_an_item_only_when_right_in_both_orders():
    # item 0 right twice, item 1 right once: 1 of 2 items
    items = [(0, 0, "0"), (1, 1, "0"), (0, 0, "1"), (1, 0, "1")]
    assert hooks.score_both_orders(items) == 0.5
    assert hooks.score_accuracy(items) == 0.75


def test_macro_f1_counts_the_classes_of_golds_or_predictions():
    # golds {0,1}, predictions add class 2 -> sklearn's default labels {0,1,2}:
    # F1(0): tp 1, fn 1 -> 2/3; F1(1): tp 1, fp 1, fn 1 -> 1/2; F1(2): tp 0 -> 0; macro 7/18 (golds only: 7/12)
    golds, preds = [0, 0, 1, 1], [0, 1, 1, 2]
    assert metrics.macro_f1(golds, preds) == pytest.approx(7 / 18)
    assert hooks.score_acc_macro_f1([(g, p, "") for g, p in zip(golds, preds)]) == pytest.approx((2 / 4 + 7 / 18) / 2)


def test_mcc_on_a_binary_confusion():
    # TP 2, FN 1, TN 1, FP 1: (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6
    golds, preds = [1, 1, 1, 0, 0], [1, 1, 0, 0, 1]
    assert metrics.mcc(golds, preds) == pytest.approx(1 / 6)
    assert hooks.score_acc_mcc([(g, p, "") for g, p in zip(golds, preds)]) == pytest.approx((3 / 5 + 1 / 6) / 2)


def test_multiq_gold_segment_answered_exactly_scores_one():
    golds = ["в лесу", "лес"]  # the `segment`s of the row's outputs
    assert hooks.qa({"golds": golds}, [" в лесу"]) == {"f1": 1.0, "em": 1.0, "score": 1.0}
    # vs "Москва": tokens [москва столица] / [москва]: P 1/2, R 1 -> F1 2/3, EM 0
    assert metrics.best_f1_em("Москва, столица", ["Москва", "город Москва"]) == pytest.approx((2 / 3, 0.0))
    # SQuAD normalisation drops ASCII punctuation only: «москва» is not москва
    assert metrics.best_f1_em("«Москва»", ["Москва"]) == (0.0, 0.0)
    assert metrics.best_f1_em("Москва!", ["москва"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "task_type, id_task, prediction, gold, points",
    [
        ("matching", "8", "1, 2,4,3", "1,2,3,4", 2),  # positions 1 and 2 match
        ("matching", "26", "1,2,3", "1,2,3,4", 0),  # wrong count of numbers
        ("text", "7", "Примеры.", "пример,примеры", 1),  # no digits/punctuation, lower case, a comma-separated spelling
        ("text", "7", "пример 2", "пример,примеры", 1),  # the digit goes
        ("text", "7", "пример", "пример|примеры", 0),  # "|" separates nothing
        ("multiple_choice_based_on_text", "3", "3,1", "1,3", 1),  # a set
        ("multiple_choice_based_on_text", "3", "1, 3", "1,3", 1),
        ("multiple_choice_based_on_text", "3", "1,3,4", "1,3", 0),
        ("multiple_choice_independent_options", "16", "1,3", "1,3", 2),  # |{1,3}| - 2 + 2
        (
            "multiple_choice_independent_options",
            "16",
            "1,4",
            "1,3",
            1,
        ),  # |{1}| - 2 + 2 = 1 (symmetric difference rule: 0)
        ("multiple_choice_independent_options", "16", "1", "1,3", 1),  # padded [1, -1]: 1 - 2 + 2
        ("multiple_choice_independent_options", "16", "1,3,5", "1,3", 1),  # 2 - 3 + 2
        ("multiple_choice_independent_options", "16", "1,3,4,5", "1,3", 0),  # 2 - 4 + 2
        ("multiple_choice_independent_options", "16", "2,4", "1,3", 0),
    ],
)
def test_use_points_per_task_type(task_type, id_task, prediction, gold, points):
    assert metrics.use_points(task_type, id_task, prediction, gold) == points


def test_use_grade_is_points_per_variant_over_34_averaged():
    # variant 1: 17 + 17 = 34 points -> 1.0; variant 2: 0 -> 0.0; mean 0.5
    assert metrics.use_grade([("1", 17), ("1", 17), ("2", 0)]) == 0.5
    doc = {"type": "multiple_choice_independent_options", "id_task": "16", "golds": ["1,3"], "variant": "2"}
    assert hooks.use(doc, [" 1,4\n"]) == {"score": ("2", 1)}


def test_gazeta_rouge_f_measure_on_a_lemmatised_russian_pair():
    pred, ref = "Кошки бежали по дорогам", "Кошка бежит по дороге домой"
    # lemmas [кошка бежать по дорога] vs [кошка бежать по дорога домой]
    # ROUGE-1: overlap 4, P 4/4, R 4/5 -> F 8/9; ROUGE-2: overlap 3, P 3/3, R 3/4 -> F 6/7
    assert metrics.rouge_f(pred, ref) == pytest.approx((8 / 9, 6 / 7))
    assert hooks.summary({"golds": [ref]}, [pred])["score"] == pytest.approx((8 / 9 + 6 / 7) / 2)
    # ASCII punctuation becomes a space; «» is not ASCII, so «кошки» stays one unlemmatised word:
    # [«кошки» бежать] vs [кошка бежать]: ROUGE-1 P = R = 1/2 -> F 1/2; ROUGE-2 0
    assert metrics.rouge_f("«Кошки» бежали", "Кошки, бегут!") == pytest.approx((0.5, 0.0))


def test_r_precision_takes_the_top_r_sentences():
    # R = 2, top two by score = sentences 1 and 2, one of them gold
    assert metrics.r_precision([False, False, True, True], [0.1, 0.9, 0.5, 0.3]) == 0.5
    assert metrics.r_precision([False, True, False, False], [0.1, 0.9, 0.5, 0.3]) == 1.0
    # summed log-probabilities of candidates cut to one token length: -2 beats -3
    doc = {"choices": ["a", "b"], "gold_indices": [1]}
    assert hooks.extractive(doc, [(-3.0, False), (-2.0, False)]) == {"score": 1.0}


def test_gazeta_candidates_are_cut_to_the_shortest_in_tokens(reference_tokenizer, tmp_path):
    tok = reference_tokenizer("llama-3")
    path = tmp_path / "tok"
    tok.save_pretrained(path)
    prefix, sentences = (
        "Наиболее важные предложения статьи: ",
        ["Короткое.", "Гораздо более длинное предложение о погоде."],
    )
    cut = cut_to_tokens(str(path), prefix, sentences)
    assert cut[0] == sentences[0]
    assert sentences[1].startswith(cut[1])
    assert len(cut[1]) < len(sentences[1])
    assert count_tokens(str(path), prefix + cut[1]) == count_tokens(str(path), prefix + sentences[0])


def test_copy_source_length_follows_the_tokenizers_leading_space(reference_tokenizer, tmp_path):
    paths = {}
    for name in ("llama-3", "openchat-3.5"):
        reference_tokenizer(name).save_pretrained(tmp_path / name)
        paths[name] = str(tmp_path / name)
    assert not leading_space(paths["llama-3"])
    assert leading_space(paths["openchat-3.5"])
    text = "Мама мыла раму, а папа читал газету."
    # byte-level BPE: counted as a continuation, " " + text; SentencePiece: the text as it is; capped at the limit
    assert copy_source_tokens(paths["llama-3"], text, 128) == count_tokens(paths["llama-3"], " " + text)
    assert copy_source_tokens(paths["openchat-3.5"], text, 128) == count_tokens(paths["openchat-3.5"], text)
    assert copy_source_tokens(paths["llama-3"], text, 5) == 5


def test_copy_paragraph_denominator_per_profile():
    source = "abcdefghij" * 10
    for profile in SCORING_PROFILES:
        assert metrics.copy_match(source, source, profile) == 1.0
        assert metrics.copy_match(source[:50] + "X" + source[50:], source, profile) == 1.0  # 100/101 >= 0.99
        assert metrics.copy_match(source[:50] + "XY" + source[50:], source, profile) == 0.0  # 100/102
        assert metrics.copy_match("   ", source, profile) == 0.0
    # a fragment: authors divide by the output (50/50, full marks), strict by the longer (50/100)
    assert metrics.copy_match(source[:50], source, "authors") == 1.0
    assert metrics.copy_match(source[:50], source, "strict") == 0.0
    assert metrics.copy_match(".", "Текст.", "authors") == 1.0
    assert metrics.copy_match(".", "Текст.", "strict") == 0.0
    assert metrics.copy_match(source + " and more", source, "strict") == 0.0  # a runaway copy: 100/109


def test_copy_sentence_compares_counts_for_the_authors_and_content_too_when_strict():
    source = "As a relative of the victim, her opinion has a strong influence on the parole board."
    answer = "Текст: Вас есть как марку, которые рассказал на страху."
    # SmolLM2's answer: 43 tokens against the source's 19 (its tokenizer) -> authors 19/43 = 0.442 whatever
    # it says; strict 0 (the content differs)
    assert metrics.copy_sentence_score(answer, source, 43, 19, "authors") == pytest.approx(19 / 43)
    assert metrics.copy_sentence_score(answer, source, 43, 19, "strict") == 0.0
    assert metrics.copy_sentence_score(source, source, 18, 18, "strict") == 1.0
    assert metrics.copy_sentence_score(source, source, 20, 18, "strict") == pytest.approx(18 / 20)


def test_copy_hooks_count_the_output_as_generated(reference_tokenizer, tmp_path):
    reference_tokenizer("llama-3").save_pretrained(tmp_path / "llama-3")
    tok = str(tmp_path / "llama-3")
    source = "The cat sat on the mat."
    output = " The cat sat on the mat."  # the continuation after "Ответ:", leading space included
    n = count_tokens(tok, output)  # 7: ĠThe Ġcat Ġsat Ġon Ġthe Ġmat .
    assert n == 7
    doc = {"tokenizer": tok, "source": source, "src_tokens": copy_source_tokens(tok, source, 128), "scoring": "authors"}
    assert hooks.copy_sentence(doc, [output]) == {"score": 1.0, "chars_per_token": len(output) / 8}
    assert hooks.copy_paragraph({**doc, "scoring": "strict"}, [output])["score"] == 1.0
    assert hooks.copy_sentence(doc, ["  "]) == {"score": 0.0, "chars_per_token": 0.0}


def test_micro_avg_weights_groups_3_8_2_2_2():
    rng = random.Random(0)
    scores = {t: rng.random() for tasks in SUITES["darumeru"].values() for t in tasks}
    summary = summarise("darumeru", scores)
    g = summary
    expected = (
        3 * g["DaruMMLU"] + 8 * g["DaruMERA"] + 2 * g["DaruSum"] + 2 * g["DaruCopy EN"] + 2 * g["DaruCopy RU"]
    ) / 17
    assert summary["Micro-Avg"] == pytest.approx(expected)
    only_mmlu = {t: float(t in SUITES["darumeru"]["DaruMMLU"]) for t in scores}
    assert summarise("darumeru", only_mmlu)["Micro-Avg"] == pytest.approx(3 / 17)
    partial = dict(scores)
    partial.pop("darumeru_use")
    assert "Micro-Avg" not in summarise("darumeru", partial)
    assert "DaruMERA" not in summarise("darumeru", partial)


def test_corpus_chrf_pp_is_on_a_zero_to_one_scale():
    assert hooks.corpus_chrf_pp([("кот сидит", "кот сидит")]) == pytest.approx(1.0)
    assert hooks.corpus_chrf_pp([("кот сидит", "zzz")]) == pytest.approx(0.0)


def test_mmlu_categories_are_nlpcoreteams_anatomy_is_health():
    assert category_of("anatomy") == "other (business, health, misc.)"
    # STEM: algebra 1.0; other: anatomy 0.0; humanities: philosophy 1.0 -> mean of categories 2/3
    items = [(0, 0, "abstract_algebra"), (0, 1, "anatomy"), (2, 2, "philosophy"), (3, 3, "philosophy")]
    assert hooks.score_category_mean(items) == pytest.approx(2 / 3)
    assert (
        headline("high_school_us_history", "ru")
        == "Ниже приведены вопросы с множественным выбором (с ответами) по истории США в старшей школе.\n\n"
    )
    assert (
        headline("high_school_us_history", "en")
        == "The following are multiple choice questions (with answers) about high school us history.\n\n"
    )


def test_char_normalised_accuracy_takes_log_prob_per_character():
    from tasks_ru.hooks import choice

    doc = {"choices": ["Да", "Нет, не следует"], "gold": 1}
    results = [(-4.0, False), (-6.0, False)]  # per token the short option wins; per character the long one
    scored = choice(doc, results)
    assert scored["acc"] == 0.0 and scored["acc_norm"] == 1.0
