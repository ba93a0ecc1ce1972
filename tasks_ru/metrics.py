"""Darumeru / ru-open scoring as small pure functions (METHOD.md §7, paper-notes §2.3).

Each function takes plain predictions and golds, so it can be checked by hand; the lm-eval glue that
feeds them lives in `hooks.py`.
"""

import collections
import difflib
import re
import string
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache

from sklearn.metrics import f1_score, matthews_corrcoef

from tasks_ru.mmlu_categories import category_of

# --- choice tasks ----------------------------------------------------------------------------


def accuracy(golds: Sequence, preds: Sequence) -> float:
    return sum(g == p for g, p in zip(golds, preds)) / len(golds)


def macro_f1(golds: Sequence, preds: Sequence) -> float:
    """Macro-F1 over the classes that occur in the golds (a class never predicted scores 0)."""
    return float(f1_score(golds, preds, labels=sorted(set(golds)), average="macro", zero_division=0))


def mcc(golds: Sequence, preds: Sequence) -> float:
    """Matthews correlation; 0 when only one class occurs (sklearn's convention, without its warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(matthews_corrcoef(golds, preds))


def both_orders_accuracy(items: Iterable[tuple[str, bool]]) -> float:
    """PARus "confident accuracy": an item counts only if every one of its orderings is right."""
    by_item: dict[str, bool] = {}
    for item_id, correct in items:
        by_item[item_id] = by_item.get(item_id, True) and bool(correct)
    return sum(by_item.values()) / len(by_item)


def category_mean_accuracy(items: Iterable[tuple[str, bool]]) -> float:
    """NLPCoreTeam MMLU: per-subject accuracy → mean within each category → mean over categories."""
    per_subject: dict[str, list[bool]] = collections.defaultdict(list)
    for subject, correct in items:
        per_subject[subject].append(bool(correct))
    per_category: dict[str, list[float]] = collections.defaultdict(list)
    for subject, hits in per_subject.items():
        per_category[category_of(subject)].append(sum(hits) / len(hits))
    return sum(sum(v) / len(v) for v in per_category.values()) / len(per_category)


# --- extractive QA (MultiQ, RuBQ) --------------------------------------------------------------


def normalise_answer(text: str) -> str:
    """SQuAD normalisation: lower-case, no punctuation, no English articles, single spaces."""
    text = text.lower().replace("ё", "е")
    text = "".join(ch for ch in text if ch not in set(string.punctuation) | {"«", "»", "—", "–", "…"})
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalise_answer(prediction).split(), normalise_answer(gold).split()
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if not pred or not ref:
        return float(pred == ref)
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalise_answer(prediction) == normalise_answer(gold))


def best_f1_em(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """(F1, EM), each the best over the gold answers."""
    return max(token_f1(prediction, g) for g in golds), max(exact_match(prediction, g) for g in golds)


# --- USE (Russian Unified State Exam), MERA grading --------------------------------------------

USE_MAX_POINTS = 34  # primary points of tasks 1-26 of one exam variant
USE_MATCHING_TASKS = {"8", "26"}
USE_PARTIAL_TASK = "16"


def _numbers(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def use_points(task_type: str, id_task: str, prediction: str, gold: str) -> int:
    """Points for one USE answer.

    matching (tasks 8, 26): one point per position where the predicted number equals the gold one;
    text: the letters of the prediction, lower-cased, equal one of the gold spellings ("a|b");
    multiple choice: the set of numbers equals the gold set; task 16 gives 2 for no error, 1 for
    one error (one missing or one extra number), the exam's rule.
    """
    if task_type == "matching" or str(id_task) in USE_MATCHING_TASKS:
        pred, ref = _numbers(prediction), _numbers(gold)
        return sum(p == r for p, r in zip(pred, ref)) if len(pred) == len(ref) else 0
    if task_type == "text":
        letters = re.sub(r"[^\w]|[\d_]", "", prediction).lower()
        return int(letters in {g.strip().lower() for g in gold.split("|")})
    pred, ref = set(_numbers(prediction)), set(_numbers(gold))
    if str(id_task) == USE_PARTIAL_TASK:
        return max(0, 2 - len(pred ^ ref))
    return int(pred == ref)


def use_grade(items: Iterable[tuple[str, int]]) -> float:
    """Sum of points per exam variant / 34, averaged over variants."""
    per_variant: dict[str, int] = collections.defaultdict(int)
    for variant, points in items:
        per_variant[str(variant)] += points
    return sum(v / USE_MAX_POINTS for v in per_variant.values()) / len(per_variant)


# --- summarisation (Gazeta) --------------------------------------------------------------------


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def _lemma(word: str) -> str:
    return _morph().parse(word)[0].normal_form


def lemmas(text: str) -> list[str]:
    """Lower-cased words without punctuation, each replaced by its pymorphy3 normal form."""
    return [_lemma(w) for w in re.findall(r"\w+", text.lower().replace("ё", "е"))]


def rouge_n(prediction: str, reference: str, n: int, kind: str = "recall") -> float:
    """ROUGE-N on lemmatised words; kind is 'recall' (the paper) or 'f1' (the authors' code)."""
    pred, ref = lemmas(prediction), lemmas(reference)
    pred_grams = collections.Counter(tuple(pred[i : i + n]) for i in range(len(pred) - n + 1))
    ref_grams = collections.Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
    overlap = sum((pred_grams & ref_grams).values())
    recall = overlap / sum(ref_grams.values()) if ref_grams else 0.0
    if kind == "recall":
        return recall
    if kind != "f1":
        raise ValueError(f"unknown ROUGE kind {kind!r}: use 'recall' or 'f1'")
    precision = overlap / sum(pred_grams.values()) if pred_grams else 0.0
    return 2 * precision * recall / (precision + recall) if overlap else 0.0


def r_precision(scores: Sequence[float], gold: Iterable[int]) -> float:
    """|gold ∩ top-R| / R with R = number of gold sentences; ties broken by sentence order."""
    gold = set(gold)
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return len(gold & set(ranked[: len(gold)])) / len(gold)


# --- copy tasks -------------------------------------------------------------------------------


def copy_length_score(pred_len: int, src_len: int) -> float:
    """min(pred/src, src/pred) in tokens; an empty output scores 0."""
    if pred_len == 0 or src_len == 0:
        return 0.0
    return min(pred_len / src_len, src_len / pred_len)


def copy_lcs_score(prediction: str, source: str, threshold: float = 0.99) -> float:
    """1 when the characters matched between output and source (difflib, no autojunk) cover ≥ 99% of
    the longer of the two (stripped), else 0.

    The paper divides by the paragraph's length; the authors' code by the output's, which gives a
    one-character output full marks. The longer of the two rejects both a fragment and a runaway copy.
    """
    pred, src = prediction.strip(), source.strip()
    if not pred:
        return 0.0
    blocks = difflib.SequenceMatcher(None, src, pred, autojunk=False).get_matching_blocks()
    return float(sum(b.size for b in blocks) / max(len(pred), len(src)) >= threshold)


def chars_per_token(text: str, n_tokens: int) -> float:
    """The paper's "symbols per token" of one generated output: characters / (1 + tokens)."""
    return len(text) / (1 + n_tokens)
