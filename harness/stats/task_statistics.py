"""Each task's score as a function of summed per-unit statistics, and the unit it must be resampled by.

A resample is only a valid data set when it holds whole units of the task's aggregation: a PARus
item in both option orders (hooks.score_both_orders counts an item only if every ordering is right),
a USE exam variant (hooks.score_use_grade sums points per variant), and documents otherwise. NLPCoreTeam
MMLU (hooks.score_category_mean) is resampled within each subject, so every subject keeps its size and
the per-subject → per-category → overall mean stays the same estimator.

Every statistic turns a task's per-sample `score` items into a feature matrix (one row per unit) whose
column sums give the task score through `score(stats)`, vectorised over any leading axes. A resample
is then a count vector over units, and its statistics one matrix product (harness/stats/bootstrap.py);
a swap of two models' statistics within units is the paired permutation test (harness/stats/permutation.py).

Cluster keys come from the per-sample `score` items, i.e. from these document fields:
PARus: doc["key"] (the item index, the same for both orders; hooks.choice puts it in item[2]);
USE: doc["variant"] (hooks.use puts it in item[0]); MMLU strata: doc["key"] (the subject, item[2]).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sacrebleu.metrics.chrf import CHRF

from lep.errors import InputError
from tasks_ru import hooks, ifeval, likelihood
from tasks_ru.metrics import USE_MAX_POINTS
from tasks_ru.mmlu_categories import category_of
from tasks_ru.suites import score_aggregation


@dataclass(frozen=True)
class UnitTable:
    """One task's items of M models on the same documents, laid out by resampling unit."""

    task: str
    unit: str  # what one resampling unit is, in words
    features: np.ndarray  # (M, U, F): per model and unit, the statistics whose sums give the score
    strata: np.ndarray  # (U,) stratum of each unit (units are resampled within their stratum)
    score: Callable[[np.ndarray], np.ndarray]  # (..., F) summed statistics -> (...) scores
    n_docs: int
    unit_mean: bool = False  # the score is the plain mean of one value per unit (features [value, 1])

    @property
    def n_units(self) -> int:
        return self.features.shape[1]

    def point(self) -> np.ndarray:
        """Each model's score on the data as observed: (M,)."""
        return self.score(self.features.sum(axis=1))

    def values(self) -> np.ndarray | None:
        """(M, U) each model's value per unit when the score is their plain mean, else None."""
        return self.features[..., 0] if self.unit_mean else None

    def binary(self) -> bool:
        """Whether every unit's value is 0 or 1 (the exact 0/1 methods apply)."""
        values = self.values()
        return values is not None and bool(np.isin(values, (0.0, 1.0)).all())


class Statistic:
    """Document-level statistic (unit = document) and the hooks every statistic can override."""

    unit = "document"
    unit_mean = False  # True where the score is the plain mean of one value per unit

    def unit_key(self, item: Any) -> Any:
        return None  # None: the document is the unit

    def stratum_key(self, item: Any) -> Any:
        return None

    def doc_features(self, items_per_model: Sequence[Sequence[Any]]) -> np.ndarray:
        """(M, n_docs, Fd) per-document statistics, summed within each unit."""
        raise NotImplementedError

    def unit_features(self, sums: np.ndarray) -> np.ndarray:
        """(M, U, Fd) unit sums -> (M, U, F) unit statistics."""
        return sums

    def score(self, stats: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RatioOfSums(Statistic):
    """A score that is the sum of one feature over the sum of another: a mean, a share, bits per character."""

    def score(self, stats):
        return stats[..., 0] / stats[..., 1]


class Mean(RatioOfSums):
    unit_mean = True

    def doc_features(self, items_per_model):
        values = np.asarray(items_per_model, dtype=float)
        return np.stack([values, np.ones_like(values)], axis=-1)


def _choices(items_per_model: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
    golds = np.asarray([[int(item[0]) for item in items] for items in items_per_model])
    preds = np.asarray([[int(item[1]) for item in items] for items in items_per_model])
    return golds, preds


class Accuracy(Mean):
    def doc_features(self, items_per_model):
        golds, preds = _choices(items_per_model)
        return super().doc_features((golds == preds).astype(float))


class Confusion(Statistic):
    """Flattened K×K confusion matrix (gold row, predicted column): accuracy + macro-F1 or MCC."""

    def __init__(self, second: str):
        self.second = second
        self.classes = 0

    def doc_features(self, items_per_model):
        golds, preds = _choices(items_per_model)
        self.classes = k = int(max(golds.max(), preds.max())) + 1
        return np.eye(k * k)[golds * k + preds]

    def score(self, stats):
        k = self.classes
        matrix = stats.reshape(*stats.shape[:-1], k, k)
        true, predicted = matrix.sum(axis=-1), matrix.sum(axis=-2)
        hits, total = np.trace(matrix, axis1=-2, axis2=-1), matrix.sum(axis=(-2, -1))
        accuracy = hits / total
        if self.second == "macro_f1":  # over the classes present in the golds, as metrics.macro_f1
            tp = np.diagonal(matrix, axis1=-2, axis2=-1)
            denominator = true + predicted
            f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
            present = true > 0
            second = (f1 * present).sum(axis=-1) / present.sum(axis=-1)
        else:  # multiclass MCC, sklearn's formula; 0 when undefined
            covariance = hits * total - (true * predicted).sum(axis=-1)
            spread = (total**2 - (predicted**2).sum(axis=-1)) * (total**2 - (true**2).sum(axis=-1))
            second = np.divide(covariance, np.sqrt(spread), out=np.zeros_like(covariance), where=spread > 0)
        return (accuracy + second) / 2


class BothOrders(RatioOfSums):
    unit = "PARus item (both option orders)"
    unit_mean = True

    def unit_key(self, item):
        return item[2]

    def doc_features(self, items_per_model):
        golds, preds = _choices(items_per_model)
        correct = (golds == preds).astype(float)
        return np.stack([correct, np.ones_like(correct)], axis=-1)

    def unit_features(self, sums):
        right = (sums[..., 0] == sums[..., 1]).astype(float)
        return np.stack([right, np.ones_like(right)], axis=-1)


class CategoryMean(Statistic):
    """Per-subject accuracy -> mean per category -> mean over categories, linear in the hits when
    every subject keeps its size (resampling within subjects), so one weighted sum."""

    unit = "document, resampled within its MMLU subject"

    def stratum_key(self, item):
        return item[2]

    def doc_features(self, items_per_model):
        golds, preds = _choices(items_per_model)
        subjects = [str(item[2]) for item in items_per_model[0]]
        size = {s: subjects.count(s) for s in set(subjects)}
        per_category: dict[str, set[str]] = {}
        for s in size:
            per_category.setdefault(category_of(s), set()).add(s)
        weight = np.asarray([1 / (size[s] * len(per_category[category_of(s)]) * len(per_category)) for s in subjects])
        return ((golds == preds) * weight)[..., None]

    def score(self, stats):
        return stats[..., 0]


class UseGrade(RatioOfSums):
    unit = "USE exam variant"
    unit_mean = True

    def unit_key(self, item):
        return str(item[0])

    def doc_features(self, items_per_model):
        return np.asarray([[float(item[1]) for item in items] for items in items_per_model])[..., None]

    def unit_features(self, sums):
        grade = sums[..., 0] / USE_MAX_POINTS
        return np.stack([grade, np.ones_like(grade)], axis=-1)


class FollowedShare(RatioOfSums):
    """IFEval's instruction-level accuracy, instructions followed ÷ instructions: a ratio of sums over prompts, each
    prompt's verdicts one unit (features [followed, instructions]), so a prompt's instructions are drawn together."""

    unit = "prompt"

    def doc_features(self, items_per_model):
        return np.asarray([[[sum(v), len(v)] for v in items] for items in items_per_model], dtype=float)


class BitsPerChar(RatioOfSums):
    """Bits per character pooled over sentences (total bits ÷ total characters), a sentence a unit: features
    [bits, characters] from each sentence's (natural log-probability, characters)."""

    def doc_features(self, items_per_model):
        return np.asarray(
            [[[-log_prob / math.log(2), chars] for log_prob, chars in items] for items in items_per_model], dtype=float
        )


class CorpusChrF(Statistic):
    """chrF++ from summed segment n-gram statistics (sacrebleu's own segment statistics and F-score)."""

    def __init__(self):
        self.chrf = CHRF(word_order=2)

    def doc_features(self, items_per_model):
        return np.asarray(
            [
                self.chrf._extract_corpus_statistics([p for _, p in items], [[r for r, _ in items]])
                for items in items_per_model
            ],
            dtype=float,
        )

    def score(self, stats):
        flat = stats.reshape(-1, stats.shape[-1])
        return np.asarray([self.chrf._compute_f_score(list(row)) for row in flat]).reshape(stats.shape[:-1]) / 100


STATISTICS: dict[Callable, Callable[[], Statistic]] = {
    hooks.score_accuracy: Accuracy,
    hooks.score_acc_macro_f1: lambda: Confusion("macro_f1"),
    hooks.score_acc_mcc: lambda: Confusion("mcc"),
    hooks.score_both_orders: BothOrders,
    hooks.score_category_mean: CategoryMean,
    hooks.score_use_grade: UseGrade,
    hooks.corpus_chrf_pp: CorpusChrF,
    ifeval.followed_share: FollowedShare,
    likelihood.pooled_bits_per_char: BitsPerChar,
}


def statistic_for(aggregation: Callable[[list], float]) -> Statistic:
    """The statistic of a task's aggregation; anything not listed is a per-document mean (checked)."""
    return STATISTICS.get(aggregation, Mean)()


def _index(keys: Sequence[Any]) -> tuple[np.ndarray, list]:
    order: dict[Any, int] = {}
    return np.asarray([order.setdefault(k, len(order)) for k in keys]), list(order)


def unit_table(
    task: str, items_per_model: Sequence[Sequence[Any]], aggregation: Callable[[list], float] | None = None
) -> UnitTable:
    """Lay out M models' items of one task (same documents, same order) by the task's resampling unit.

    Checks that the statistic reproduces the task's own aggregation for every model, so an
    interval is never centred on a number other than the reported score.
    """
    aggregation = aggregation or score_aggregation(task)
    statistic = statistic_for(aggregation)
    first = items_per_model[0]
    keys = [statistic.unit_key(item) for item in first]
    units, labels = _index([i if key is None else key for i, key in enumerate(keys)])
    for items in items_per_model[1:]:
        if [statistic.unit_key(item) for item in items] != keys:
            raise InputError(
                f"{task}: the runs group the same documents into different {statistic.unit}s; were they "
                "scored on the same data?"
            )
    docs = statistic.doc_features(items_per_model)
    sums = np.zeros((docs.shape[0], len(labels), docs.shape[2]))
    np.add.at(sums, (slice(None), units), docs)  # type: ignore[arg-type]  # numpy's stub rejects the index tuple
    strata_of_doc = [statistic.stratum_key(item) for item in first]
    strata = np.zeros(len(labels), dtype=int)
    strata[units] = _index(strata_of_doc)[0]
    features = statistic.unit_features(sums)
    table = UnitTable(task, statistic.unit, features, strata, statistic.score, len(first), statistic.unit_mean)
    for model, (items, point) in enumerate(zip(items_per_model, table.point())):
        reported = aggregation(list(items))
        if not np.isclose(point, reported, rtol=1e-9, atol=1e-12):
            raise RuntimeError(
                f"{task}: resampling statistic {type(statistic).__name__} gives {point} but the task's "
                f"aggregation gives {reported}"
            )
    return table
