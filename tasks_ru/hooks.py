"""lm-eval glue: `process_results` functions and corpus-level aggregations named in the task YAMLs.

Per-document functions return the items each metric needs; aggregations turn the list of items into
one score. Every task reports `score`, its leaderboard number (METHOD.md §7); suites.py averages them.
"""

from typing import Any

import sacrebleu

from tasks_ru import metrics
from tasks_ru.token_counts import count_tokens


def _generated(results: list) -> str:
    return results[0].strip() if results and isinstance(results[0], str) else ""


# --- choice tasks: items are (gold, pred, key) -------------------------------------------------


def choice(doc: dict, results: list) -> dict[str, Any]:
    """Arg-max over the options' log-probabilities; ties go to the first option."""
    scores = [ll for ll, _ in results]
    pred = scores.index(max(scores))
    return {"acc": float(pred == doc["gold"]), "score": (doc["gold"], pred, doc.get("key", ""))}


def score_accuracy(items: list) -> float:
    return metrics.accuracy([g for g, _, _ in items], [p for _, p, _ in items])


def score_acc_macro_f1(items: list) -> float:
    golds, preds = [g for g, _, _ in items], [p for _, p, _ in items]
    return (metrics.accuracy(golds, preds) + metrics.macro_f1(golds, preds)) / 2


def score_acc_mcc(items: list) -> float:
    golds, preds = [g for g, _, _ in items], [p for _, p, _ in items]
    return (metrics.accuracy(golds, preds) + metrics.mcc(golds, preds)) / 2


def score_both_orders(items: list) -> float:
    return metrics.both_orders_accuracy((key, g == p) for g, p, key in items)


def score_category_mean(items: list) -> float:
    return metrics.category_mean_accuracy((key, g == p) for g, p, key in items)


# --- generation tasks --------------------------------------------------------------------------


def qa(doc: dict, results: list) -> dict[str, float]:
    f1, em = metrics.best_f1_em(_generated(results), doc["golds"])
    return {"f1": f1, "em": em, "score": (f1 + em) / 2}


def use(doc: dict, results: list) -> dict[str, Any]:
    points = metrics.use_points(doc["type"], doc["id_task"], _generated(results), doc["golds"][0])
    return {"score": (doc["variant"], points)}


def score_use_grade(items: list) -> float:
    return metrics.use_grade(items)


def _summary(doc: dict, results: list, kind: str) -> dict[str, float]:
    r1, r2 = (metrics.rouge_n(_generated(results), doc["golds"][0], n, kind) for n in (1, 2))
    return {"rouge1": r1, "rouge2": r2, "score": (r1 + r2) / 2}


def summary_recall(doc: dict, results: list) -> dict[str, float]:
    return _summary(doc, results, "recall")


def summary_f1(doc: dict, results: list) -> dict[str, float]:
    return _summary(doc, results, "f1")


def extractive(doc: dict, results: list) -> dict[str, float]:
    """Candidates ranked by log-probability per character (they were cut to one length)."""
    scores = [ll / max(1, len(c)) for (ll, _), c in zip(results, doc["choices"])]
    return {"score": metrics.r_precision(scores, doc["gold_indices"])}


def translation(doc: dict, results: list) -> dict[str, tuple[str, str]]:
    item = (doc["golds"][0], _generated(results))
    return {"chrf_pp": item, "score": item}


def corpus_chrf_pp(items: list) -> float:
    """chrF++ (sacrebleu, word order 2) over the corpus, on a 0-1 scale."""
    refs, preds = [r for r, _ in items], [p for _, p in items]
    return sacrebleu.CHRF(word_order=2).corpus_score(preds, [refs]).score / 100


def _copy_lengths(doc: dict, results: list) -> tuple[str, int]:
    text = _generated(results)
    return text, (count_tokens(doc["tokenizer"], text) if text else 0)


def copy_sentence(doc: dict, results: list) -> dict[str, float]:
    text, n = _copy_lengths(doc, results)
    return {"score": metrics.copy_length_score(n, doc["src_tokens"]), "chars_per_token": metrics.chars_per_token(text, n)}


def copy_paragraph(doc: dict, results: list) -> dict[str, float]:
    text, n = _copy_lengths(doc, results)
    return {
        "score": metrics.copy_lcs_score(text, doc["source"]),
        "length": metrics.copy_length_score(n, doc["src_tokens"]),
        "chars_per_token": metrics.chars_per_token(text, n),
    }
