"""lm-eval glue: `process_results` functions and corpus-level aggregations named in the task YAMLs.

Per-document functions return the items each metric needs; aggregations turn the list of items into
one score. Every task reports `score`, its leaderboard number (llmtf's `leaderboard_aggregation`);
suites.py averages them.
"""

from typing import Any

import sacrebleu

from tasks_ru import metrics
from tasks_ru.token_counts import count_tokens


def _raw(results: list) -> str:
    return results[0] if results and isinstance(results[0], str) else ""


# --- choice tasks: items are (gold, pred, key) -------------------------------------------------


def choice(doc: dict, results: list) -> dict[str, Any]:
    """Arg-max over the options' log-probabilities; ties go to the first option. `acc_norm` takes the arg-max of
    log-probability per character of the option (lm-eval's acc_norm), which models with different tokenizers
    share: per token it would favour the tokenizer that cuts an option into fewer pieces."""
    scores = [ll for ll, _ in results]
    pred = scores.index(max(scores))
    per_char = [ll / max(1, len(option)) for ll, option in zip(scores, doc["choices"])]
    return {
        "acc": float(pred == doc["gold"]),
        "acc_norm": float(per_char.index(max(per_char)) == doc["gold"]),
        "score": (doc["gold"], pred, doc.get("key", "")),
    }


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
    f1, em = metrics.best_f1_em(_raw(results), doc["golds"])
    return {"f1": f1, "em": em, "score": (f1 + em) / 2}


def use(doc: dict, results: list) -> dict[str, Any]:
    points = metrics.use_points(doc["type"], doc["id_task"], _raw(results), doc["golds"][0])
    return {"score": (doc["variant"], points)}


def score_use_grade(items: list) -> float:
    return metrics.use_grade(items)


def summary(doc: dict, results: list) -> dict[str, float]:
    r1, r2 = metrics.rouge_f(_raw(results), doc["golds"][0])
    return {"rouge1": r1, "rouge2": r2, "score": (r1 + r2) / 2}


def extractive(doc: dict, results: list) -> dict[str, float]:
    """Candidates (cut to one token length) ranked by their summed log-probability."""
    labels = [i in doc["gold_indices"] for i in range(len(doc["choices"]))]
    return {"score": metrics.r_precision(labels, [ll for ll, _ in results])}


def translation(doc: dict, results: list) -> dict[str, tuple[str, str]]:
    item = (doc["golds"][0], _raw(results).strip())
    return {"chrf_pp": item, "score": item}


def corpus_chrf_pp(items: list) -> float:
    """chrF++ (sacrebleu, word order 2) over the corpus, on a 0-1 scale."""
    refs, preds = [r for r, _ in items], [p for _, p in items]
    return sacrebleu.CHRF(word_order=2).corpus_score(preds, [refs]).score / 100


def _copy_output(doc: dict, results: list) -> tuple[str, int]:
    """The output as generated and its length in tokens; an output of only whitespace counts as empty."""
    text = _raw(results)
    return (text, count_tokens(doc["tokenizer"], text)) if text.strip() else ("", 0)


def copy_sentence(doc: dict, results: list) -> dict[str, float]:
    text, n = _copy_output(doc, results)
    score = metrics.copy_sentence_score(text, doc["source"], n, doc["src_tokens"], doc["scoring"]) if n else 0.0
    return {"score": score, "chars_per_token": metrics.chars_per_token(text, n) if n else 0.0}


def copy_paragraph(doc: dict, results: list) -> dict[str, float]:
    text, n = _copy_output(doc, results)
    return {
        "score": metrics.copy_match(text, doc["source"], doc["scoring"]) if n else 0.0,
        "length": metrics.copy_length_score(n, doc["src_tokens"]),
        "chars_per_token": metrics.chars_per_token(text, n) if n else 0.0,
    }
