"""Each metric on hand-made predictions whose scores were worked out by hand (values in comments)."""

import random

import pytest

from tasks_ru import hooks, metrics
from tasks_ru.suites import SUITES, summarise


def test_parus_counts_an_item_only_when_right_in_both_orders():
    # item 0 right twice, item 1 right once: 1 of 2 items
    items = [(0, 0, "0"), (1, 1, "0"), (0, 0, "1"), (1, 0, "1")]
    assert hooks.score_both_orders(items) == 0.5
    assert hooks.score_accuracy(items) == 0.75


def test_macro_f1_on_a_three_class_confusion():
    golds, preds = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]
    # F1 per class: 0.5, 0.8, 2/3 -> macro 0.65556; accuracy 4/6
    assert metrics.macro_f1(golds, preds) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    items = [(g, p, "") for g, p in zip(golds, preds)]
    assert hooks.score_acc_macro_f1(items) == pytest.approx((4 / 6 + (0.5 + 0.8 + 2 / 3) / 3) / 2)


def test_mcc_on_a_binary_confusion():
    # TP 2, FN 1, TN 1, FP 1: (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6
    golds, preds = [1, 1, 1, 0, 0], [1, 1, 0, 0, 1]
    assert metrics.mcc(golds, preds) == pytest.approx(1 / 6)
    assert hooks.score_acc_mcc([(g, p, "") for g, p in zip(golds, preds)]) == pytest.approx((3 / 5 + 1 / 6) / 2)


def test_f1_and_exact_match_take_the_best_gold():
    # vs "Москва": P 1/2, R 1 -> F1 2/3; vs "город Москва": 1/2; no exact match
    assert metrics.best_f1_em("Москва, столица", ["Москва", "город Москва"]) == pytest.approx((2 / 3, 0.0))
    assert metrics.best_f1_em("«Москва»!", ["город Москва", "москва"]) == (1.0, 1.0)
    assert hooks.qa({"golds": ["Чили"]}, [" Чили "]) == {"f1": 1.0, "em": 1.0, "score": 1.0}


@pytest.mark.parametrize(
    "task_type, id_task, prediction, gold, points",
    [
        ("matching", "8", "1, 2,4,3", "1,2,3,4", 2),  # positions 1 and 2 match
        ("matching", "26", "1,2,3", "1,2,3,4", 0),  # wrong count of numbers
        ("text", "7", "Примеры.", "пример|примеры", 1),  # letters only, lower case, any spelling
        ("text", "7", "пример 2", "примеры", 0),
        ("multiple_choice_based_on_text", "3", "3,1", "1,3", 1),  # a set
        ("multiple_choice_based_on_text", "3", "1,3,4", "1,3", 0),
        ("multiple_choice_independent_options", "16", "1,3", "1,3", 2),  # task 16: no error
        ("multiple_choice_independent_options", "16", "1", "1,3", 1),  # one missing
        ("multiple_choice_independent_options", "16", "1,3,5", "1,3", 1),  # one extra
        ("multiple_choice_independent_options", "16", "2,4", "1,3", 0),
    ],
)
def test_use_points_per_task_type(task_type, id_task, prediction, gold, points):
    assert metrics.use_points(task_type, id_task, prediction, gold) == points


def test_use_grade_is_points_per_variant_over_34_averaged():
    # variant 1: 17 + 17 = 34 points -> 1.0; variant 2: 0 -> 0.0; mean 0.5
    assert metrics.use_grade([("1", 17), ("1", 17), ("2", 0)]) == 0.5


def test_rouge_on_lemmatised_russian_words():
    pred, ref = "Кошки бежали по дорогам", "Кошка бежит по дороге домой"
    # lemmas: [кошка бежать по дорога] vs [кошка бежать по дорога дом]
    assert metrics.rouge_n(pred, ref, 1) == pytest.approx(4 / 5)
    assert metrics.rouge_n(pred, ref, 2) == pytest.approx(3 / 4)
    assert metrics.rouge_n(pred, ref, 1, "f1") == pytest.approx(2 * 1 * 0.8 / 1.8)
    assert hooks.summary_recall({"golds": [ref]}, [pred])["score"] == pytest.approx((0.8 + 0.75) / 2)


def test_r_precision_takes_the_top_r_sentences():
    # R = 2, top two = sentences 1 and 2, one of them gold
    assert metrics.r_precision([0.1, 0.9, 0.5, 0.3], [2, 3]) == 0.5
    assert metrics.r_precision([0.1, 0.9, 0.5, 0.3], [1]) == 1.0
    # per-character normalisation: 'bb' has -2/2 = -1 per char, beats 'a' with -3
    doc = {"choices": ["a", "bb"], "gold_indices": [1]}
    assert hooks.extractive(doc, [(-3.0, False), (-2.0, False)]) == {"score": 1.0}


def test_copy_length_and_lcs_scores():
    assert metrics.copy_length_score(8, 10) == 0.8
    assert metrics.copy_length_score(12, 10) == pytest.approx(10 / 12)
    assert metrics.copy_length_score(0, 10) == 0.0
    source = "abcdefghij" * 10
    assert metrics.copy_lcs_score(source, source) == 1.0
    assert metrics.copy_lcs_score(source[:50] + "X" + source[50:], source) == 1.0  # 100/101 >= 0.99
    assert metrics.copy_lcs_score(source[:50] + "XY" + source[50:], source) == 0.0  # 100/102 < 0.99
    assert metrics.copy_lcs_score("   ", source) == 0.0
    assert metrics.copy_lcs_score(source[:50], source) == 0.0  # a fragment: 50/100
    assert metrics.copy_lcs_score(".", "Текст.") == 0.0  # the authors' code would give 1/1
    assert metrics.copy_lcs_score(source + " and more", source) == 0.0  # a runaway copy: 100/109
    assert metrics.chars_per_token("abcd", 3) == 1.0


def test_micro_avg_weights_groups_3_8_2_2_2():
    rng = random.Random(0)
    scores = {t: rng.random() for tasks in SUITES["darumeru"].values() for t in tasks}
    summary = summarise("darumeru", scores)
    g = summary
    expected = (3 * g["DaruMMLU"] + 8 * g["DaruMERA"] + 2 * g["DaruSum"] + 2 * g["DaruCopy EN"] + 2 * g["DaruCopy RU"]) / 17
    assert summary["Micro-Avg"] == pytest.approx(expected)
    only_mmlu = {t: float(t in SUITES["darumeru"]["DaruMMLU"]) for t in scores}
    assert summarise("darumeru", only_mmlu)["Micro-Avg"] == pytest.approx(3 / 17)
    partial = dict(scores)
    partial.pop("darumeru_use")
    assert "Micro-Avg" not in summarise("darumeru", partial) and "DaruMERA" not in summarise("darumeru", partial)


def test_corpus_chrf_pp_is_on_a_zero_to_one_scale():
    assert hooks.corpus_chrf_pp([("кот сидит", "кот сидит")]) == pytest.approx(1.0)
    assert hooks.corpus_chrf_pp([("кот сидит", "zzz")]) == pytest.approx(0.0)


def test_category_mean_averages_subjects_then_categories():
    # stem: algebra 1.0, anatomy 0.0 -> 0.5; humanities: philosophy 1.0 -> mean 0.75
    items = [(0, 0, "abstract_algebra"), (0, 1, "anatomy"), (2, 2, "philosophy"), (3, 3, "philosophy")]
    assert hooks.score_category_mean(items) == 0.75
