"""Darumeru / ru-open scoring as small pure functions: the formulas of llmtf (958750c), which produced
the published rows, and the `strict` variants where that code is wrong.

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

import numpy as np
from rouge_score import rouge_scorer
from sklearn.metrics import f1_score, matthews_corrcoef

from tasks_ru.mmlu_categories import category_of

# --- choice tasks ----------------------------------------------------------------------------


def accuracy(golds: Sequence, preds: Sequence) -> float:
    return sum(g == p for g, p in zip(golds, preds)) / len(golds)


def macro_f1(golds: Sequence, preds: Sequence) -> float:
    """sklearn's macro-F1 with its default label set: every class in the golds or the predictions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(f1_score(golds, preds, average="macro"))


def mcc(golds: Sequence, preds: Sequence) -> float:
    """Matthews correlation; 0 when only one class occurs (sklearn's convention, without its warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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


# --- extractive QA (MultiQ, RuBQ): SQuAD F1 / EM from transformers, as llmtf calls them ---------


def best_f1_em(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """(F1, EM), each the best over the gold answers; SQuAD normalisation (lower case, ASCII
    punctuation and English articles dropped, whitespace collapsed)."""
    from transformers.data.metrics import squad_metrics  # here, not at the top: it imports torch (6 s of a CLI start)

    f1 = max(squad_metrics.compute_f1(gold, prediction) for gold in golds)
    em = max(squad_metrics.compute_exact(gold, prediction) for gold in golds)
    return float(f1), float(em)


# --- USE (Russian Unified State Exam) -------------------------------------------------------------

USE_MAX_POINTS = 34  # primary points of one exam variant


def use_points(task_type: str, id_task: str, prediction: str, gold: str) -> int:
    """Points for one USE answer, llmtf's (MERA's) rules; the prediction is stripped first.

    matching: one point per position where the number equals the gold one (0 if the counts differ);
    text: the prediction without digits, "+" and non-word characters, lower-cased, is one of the
    gold's comma-separated spellings; task 16: |gold ∩ pred| - |pred| + |gold| (pred padded to the gold's
    length), at least 0; other multiple choice: the sets are equal.
    """
    prediction = prediction.strip()
    pred = [p.strip() for p in prediction.split(",")]
    ans = gold.split(",")
    if task_type == "matching":
        return sum(a == p for a, p in zip(ans, pred)) if len(ans) == len(pred) else 0
    if task_type == "text":
        return int(re.sub(r"[\d+\W+]", "", prediction).lower() in ans)
    if str(id_task) == "16":
        pred += ["-1"] * (len(ans) - len(pred))
        return max(0, len(set(ans) & set(pred)) - len(pred) + len(ans))
    return int(len(set(ans) & set(pred)) == len(set(ans)) == len(set(pred)))


def use_grade(items: Iterable[tuple[str, int]]) -> float:
    """Sum of points per exam variant / 34, averaged over variants."""
    per_variant: dict[str, int] = collections.defaultdict(int)
    for variant, points in items:
        per_variant[str(variant)] += points
    return sum(v / USE_MAX_POINTS for v in per_variant.values()) / len(per_variant)


# --- summarisation (Gazeta) --------------------------------------------------------------------


class LemmaTokenizer:
    """llmtf's ROUGE tokenizer: lower case, ASCII punctuation → space, whitespace split, pymorphy lemma."""

    punctuation = re.compile(f"[{re.escape(string.punctuation)}]")

    def tokenize(self, text: str) -> list[str]:
        return [lemma(word) for word in self.punctuation.sub(" ", text.lower()).split()]


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """pymorphy3's first normal form, llmtf's lemma (ROUGE here, IFEval's Russian keywords in ifeval_text.py)."""
    return _morph().parse(word)[0].normal_form


@lru_cache(maxsize=1)
def _scorer() -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(["rouge1", "rouge2"], tokenizer=LemmaTokenizer())


def rouge_f(prediction: str, reference: str) -> tuple[float, float]:
    """(ROUGE-1, ROUGE-2) F-measure on lemmas, as llmtf scores Gazeta summaries."""
    scores = _scorer().score(reference, prediction)
    return scores["rouge1"].fmeasure, scores["rouge2"].fmeasure


def r_precision(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """|gold ∩ top-R| / R, R = number of gold sentences; the order of numpy's argsort of -scores."""
    k = int(np.asarray(labels, dtype=int).sum())
    top = np.argsort(-np.asarray(scores, dtype=float))[:k]
    return float(np.asarray(labels, dtype=float)[top].sum() / k)


# --- copy tasks -------------------------------------------------------------------------------


def copy_length_score(pred_len: int, src_len: int) -> float:
    """min(pred/src, src/pred) in tokens; an empty output scores 0."""
    if pred_len == 0 or src_len == 0:
        return 0.0
    return min(pred_len / src_len, src_len / pred_len)


def matched_chars(prediction: str, source: str) -> int:
    """Characters matched between the stripped source and output (difflib blocks, no autojunk)."""
    blocks = difflib.SequenceMatcher(None, source.strip(), prediction.strip(), autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks)


def copy_match(prediction: str, source: str, profile: str, threshold: float = 0.99) -> float:
    """1 when the matched characters cover ≥ 99% of the denominator, else 0.

    authors: the output's length (a fragment of the source scores 1); strict: the longer of output and
    source (rejects both a fragment and a runaway copy).
    """
    pred, src = prediction.strip(), source.strip()
    if not pred:
        return 0.0
    denominator = len(pred) if profile == "authors" else max(len(pred), len(src))
    return float(matched_chars(pred, src) / denominator >= threshold)


def copy_sentence_score(prediction: str, source: str, pred_len: int, src_len: int, profile: str) -> float:
    """authors: the token-length ratio alone; strict: that ratio only when the content is the source."""
    length = copy_length_score(pred_len, src_len)
    return length if profile == "authors" else length * copy_match(prediction, source, "strict")


def chars_per_token(text: str, n_tokens: int) -> float:
    """The paper's "symbols per token" of one generated output: characters / (1 + tokens)."""
    return len(text) / (1 + n_tokens)
