"""Simulated per-sample scores with a known truth: for interval coverage, gate power, statistics speed and tests.

Paired data sets with a known true difference come in three shapes, each a (candidate, reference) pair of
per-document `score` items by doc id: binary items (per-document accuracy), PARus-style items asked in both
orders (right only if both orderings are), and USE-style exam variants (points per question, summed per
variant / 34). `synthetic_items` gives any task's items the shape its aggregation expects, for whole runs.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.stats import norm

from harness.stats.task_statistics import (
    BitsPerChar,
    BothOrders,
    CategoryMean,
    Confusion,
    CorpusChrF,
    Mean,
    UseGrade,
    statistic_for,
)
from tasks_ru import hooks
from tasks_ru.mmlu_categories import SUBJECTS
from tasks_ru.suites import score_aggregation

Pair = tuple[dict[str, dict[int, Any]], dict[str, dict[int, Any]]]  # (candidate, reference) items by doc id


def binary_pair(n: int, delta: float, rng: np.random.Generator, base: float = 0.6, discordance: float = 0.2) -> Pair:
    """n items; the candidate differs from the reference on about `discordance` of them, gaining
    (discordance + delta) / 2 and losing (discordance − delta) / 2, so its true accuracy is base + delta."""
    ref = rng.random(n) < base
    lose, gain = (discordance - delta) / 2 / base, (discordance + delta) / 2 / (1 - base)
    flip = rng.random(n)
    cand = np.where(ref, flip >= lose, flip < gain)
    return {"t": dict(enumerate(cand.astype(float)))}, {"t": dict(enumerate(ref.astype(float)))}


PARUS_NOISE = 0.7  # per-ordering noise around the item's shared difficulty


def parus_truth(threshold: float) -> float:
    """P(right in both orders) for a model with this threshold: E_z[Φ((z − t)/σ)²], z ~ N(0, 1)."""
    z, w = hermegauss(80)
    return float(np.sum(w * norm.cdf((z - threshold) / PARUS_NOISE) ** 2) / np.sum(w))


def parus_pair(items: int, thresholds: tuple[float, float], rng: np.random.Generator) -> Pair:
    """`items` PARus items, each two documents (both option orders) sharing its key."""
    z = rng.normal(size=items)
    out: list[dict[str, dict[int, Any]]] = []
    for t in thresholds:
        right = z[:, None] + rng.normal(0, PARUS_NOISE, (items, 2)) > t
        out.append({"t": {2 * i + o: [0, 0 if right[i, o] else 1, str(i)] for i in range(items) for o in (0, 1)}})
    return out[0], out[1]


USE_MAX = np.array([1] * 20 + [2] * 7)  # 27 questions per variant, 34 points
VARIANT_SPREAD = 0.5  # variants differ in difficulty (a shared effect per variant)


def _use_p(ability: float, variant: np.ndarray, question: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(ability + variant - question)))


def use_truth(abilities: tuple[float, float], draws: int = 400_000, seed: int = 99) -> float:
    """True grade difference (candidate − reference), by a large Monte Carlo over variants and questions."""
    rng = np.random.default_rng(seed)
    variant, question = rng.normal(0, VARIANT_SPREAD, (draws, 1)), rng.normal(0, 1, (draws, len(USE_MAX)))
    grades = [(_use_p(a, variant, question) * USE_MAX).sum(axis=1).mean() / 34 for a in abilities]
    return float(grades[0] - grades[1])


def use_pair(variants: int, abilities: tuple[float, float], rng: np.random.Generator) -> Pair:
    """`variants` exam variants of 27 questions; both models see the same variants and questions and
    the same uniform draws per point (so their points are paired)."""
    variant = rng.normal(0, VARIANT_SPREAD, (variants, 1))
    question = rng.normal(0, 1, (variants, len(USE_MAX)))
    uniforms = rng.random((variants, len(USE_MAX), 2))
    out = []
    for a in abilities:
        p = _use_p(a, variant, question)
        points = (uniforms[..., 0] < p).astype(int) + (USE_MAX == 2) * (uniforms[..., 1] < p)
        out.append(
            {
                "t": {
                    v * len(USE_MAX) + q: [str(v), int(points[v, q])]
                    for v in range(variants)
                    for q in range(len(USE_MAX))
                }
            }
        )
    return out[0], out[1]


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[np.random.Generator], Pair]
    truth: float
    aggregation: Callable[[list], float]


def _mean(items: list) -> float:
    return sum(items) / len(items)


def cases(small: bool = False) -> list[Case]:
    """The coverage cases: binary items at several sizes, PARus pairs, USE variants."""
    sizes = (30, 100) if small else (10, 20, 30, 50, 100, 300, 1000)
    out = [Case(f"binary, n={n} items", partial(binary_pair, n, 0.05), 0.05, _mean) for n in sizes]
    thresholds = (0.0, 0.3)
    for items in (50,) if small else (30, 50, 100, 500):
        out.append(
            Case(
                f"PARus pairs, {items} items",
                partial(parus_pair, items, thresholds),
                parus_truth(thresholds[0]) - parus_truth(thresholds[1]),
                hooks.score_both_orders,
            )
        )
    abilities = (0.6, 0.3)
    truth = use_truth(abilities)
    for variants in (30,) if small else (10, 20, 30, 60):
        out.append(
            Case(
                f"USE, {variants} variants",
                partial(use_pair, variants, abilities),
                truth,
                hooks.score_use_grade,
            )
        )
    return out


CLUSTER_SIZE = 4  # items per resampling unit where items are correlated (ICC > 0), like PARus orders or USE variants


def clustered_pair(
    units: int, icc: float, binary: bool, delta: float, rng: np.random.Generator, base: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """(candidate, reference) item scores, shape (units, items per unit): one item per unit when icc is 0, else
    CLUSTER_SIZE items sharing a unit effect with intra-cluster correlation `icc` (on the latent scale).

    0/1 items: the reference's unit rates are Beta with mean `base` and ICC `icc` (beta-binomial); the candidate
    flips about a fifth of the reference's items, gaining (0.2 + delta) / 2 and losing (0.2 − delta) / 2, so
    its true mean is base + delta. Continuous items: logistic(latent), latent = shared unit effect + item noise
    of total variance 1, the candidate's shifted by CONTINUOUS_SHIFT and with its own extra noise; the truths are
    `continuous_truth()`."""
    size = 1 if icc == 0 else CLUSTER_SIZE
    if binary:
        spread = (1 - icc) / icc if icc > 0 else 0.0
        rates = rng.beta(base * spread, (1 - base) * spread, units) if icc > 0 else np.full(units, base)
        reference = rng.random((units, size)) < rates[:, None]
        lose, gain = (0.2 - delta) / 2 / base, (0.2 + delta) / 2 / (1 - base)
        flip = rng.random((units, size))
        candidate = np.where(reference, flip >= lose, flip < gain)
        return candidate.astype(float), reference.astype(float)
    shared = rng.normal(0, np.sqrt(icc), (units, 1))
    latent = shared + rng.normal(0, np.sqrt(1 - icc), (units, size)) + CONTINUOUS_LEVEL
    noise = rng.normal(0, CONTINUOUS_NOISE, (units, size))
    return _logistic(latent + CONTINUOUS_SHIFT + noise), _logistic(latent)


CONTINUOUS_LEVEL, CONTINUOUS_SHIFT, CONTINUOUS_NOISE = 0.4, 0.3, 0.5


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def continuous_truth() -> tuple[float, float]:
    """(reference mean, candidate − reference) of `clustered_pair`'s continuous scores, by Gauss-Hermite."""
    z, w = hermegauss(80)
    w = w / w.sum()
    reference = float(np.sum(w * _logistic(CONTINUOUS_LEVEL + z)))
    spread = np.sqrt(1 + CONTINUOUS_NOISE**2)
    candidate = float(np.sum(w * _logistic(CONTINUOUS_LEVEL + CONTINUOUS_SHIFT + spread * z)))
    return reference, candidate - reference


WORDS = "дом лес река город поле небо море гора степь сад окно дверь".split()


def synthetic_items(task: str, n: int, skill: float, rng: np.random.Generator, difficulty: np.ndarray) -> list:
    """n items of `task` in the shape its aggregation expects; `skill` against each item's `difficulty` sets the
    chance of it being right (difficulty shared by all models, so runs are paired)."""
    right = rng.random(n) < 1 / (1 + np.exp(-(skill - difficulty)))
    statistic = statistic_for(score_aggregation(task))
    if isinstance(statistic, BothOrders):
        return [[0, 0 if ok else 1, str(i // 2)] for i, ok in enumerate(right)]
    if isinstance(statistic, CategoryMean):
        subjects = sorted(SUBJECTS)
        return [[1, 1 if ok else 0, subjects[i % len(subjects)]] for i, ok in enumerate(right)]
    if isinstance(statistic, UseGrade):
        return [[str(i // 27), int(ok) + int(ok and rng.random() < 0.3)] for i, ok in enumerate(right)]
    if isinstance(statistic, CorpusChrF):
        refs = [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(6)) for i in range(n)]
        return [[ref, ref if ok else " ".join(reversed(ref.split()))] for ref, ok in zip(refs, right)]
    if isinstance(statistic, Confusion):
        golds = np.arange(n) % 3
        return [[int(g), int(g) if ok else int((g + 1) % 3), ""] for g, ok in zip(golds, right)]
    if isinstance(statistic, BitsPerChar):  # a sentence of 80-160 characters at 1.5 bits each, more when wrong
        chars = rng.integers(80, 160, n)
        return [[-float(c) * (1.5 + 0.5 * (not ok)) * math.log(2), int(c)] for c, ok in zip(chars, right)]
    if type(statistic) is Mean:
        return [
            float(ok) if task.endswith(("para_en", "para_ru")) else float(np.clip(ok * 0.8 + rng.random() * 0.2, 0, 1))
            for ok in right
        ]
    return [[0, 0 if ok else 1, ""] for ok in right]  # accuracy


def model_skills(count: int) -> list[float]:
    """Skills of `count` synthetic models, the first the reference: some equal, some clearly better or worse."""
    return [0.0] + [0.6 * math.sin(1.7 * k) for k in range(1, count)]
