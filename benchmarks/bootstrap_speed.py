"""Time the interval code at paper scale: 13 models × 17 darumeru tasks × 1,000 resamples.

Items are synthetic (harness/stats/simulate.py) at the darumeru item counts of benchmarks/suite_sizes.py
(28k MMLU questions, 13.6k Gazeta documents, PARus in both orders, ...). Timed: the report's pass
(every model's intervals and the 12 paired comparisons against the reference on shared draws, BH
correction), one run's own intervals (summary.json), and, side by side on one task, the previous
per-draw Python aggregation.

    .venv/bin/python -m benchmarks.bootstrap_speed [--models 13] [--iterations 1000]
"""

import argparse
import time

import numpy as np

from benchmarks.suite_sizes import DARUMERU
from harness.stats.estimates import adjust, comparison_statistics, paired_deltas, score_intervals, suite_groups
from harness.stats.simulate import model_skills, synthetic_items
from tasks_ru.suites import score_aggregation


def _items(models: int) -> dict[str, dict[str, dict[int, object]]]:
    out: dict[str, dict[str, dict[int, object]]] = {}
    for k, skill in enumerate(model_skills(models)):
        out[f"model-{k:02d}"] = {}
        for task, n in DARUMERU.items():
            docs = 2 * n if task == "darumeru_parus" else n
            difficulty = np.random.default_rng(len(task)).normal(0, 1.5, docs)
            out[f"model-{k:02d}"][task] = dict(
                enumerate(synthetic_items(task, docs, skill, np.random.default_rng(k), difficulty))
            )
    return out


def _per_draw_python(cand: dict, ref: dict, task: str, iterations: int) -> float:
    """The previous bootstrap: one Python re-aggregation of each side per draw."""
    aggregate, rng = score_aggregation(task), np.random.default_rng(0)
    a, b = list(cand.values()), list(ref.values())
    started = time.perf_counter()
    for _ in range(iterations):
        index = rng.integers(0, len(a), len(a))
        aggregate([a[i] for i in index]) - aggregate([b[i] for i in index])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=13)
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()
    items = _items(args.models)
    models, groups = list(items), suite_groups("darumeru")
    print(
        f"{len(models)} models × {len(DARUMERU)} tasks ({sum(DARUMERU.values())} items per model) × {args.iterations} resamples"
    )

    started = time.perf_counter()
    intervals, deltas = comparison_statistics(
        items, [(m, models[0]) for m in models[1:]], groups, iterations=args.iterations
    )
    deltas = adjust(deltas)
    shared = time.perf_counter() - started
    rows = len(next(iter(deltas.values())))
    print(
        f"the report's statistics in one pass (13 models' intervals and {len(deltas)} paired comparisons × {rows} rows, BH): {shared:.2f} s"
    )
    started = time.perf_counter()
    score_intervals(items[models[0]], groups, iterations=args.iterations)
    print(f"one run's summary.json intervals (lep-bench run, per model): {time.perf_counter() - started:.2f} s")

    task = "darumeru_rcb"
    old = _per_draw_python(items[models[1]][task], items[models[0]][task], task, args.iterations)
    started = time.perf_counter()
    paired_deltas(
        {m: {task: items[m][task]} for m in models[:2]}, [(models[1], models[0])], {}, iterations=args.iterations
    )
    new = time.perf_counter() - started
    print(
        f"one pair on {task} ({DARUMERU[task]} items): per-draw Python {old:.2f} s, vectorised {new:.3f} s ({old / new:.0f}× faster)"
    )


if __name__ == "__main__":
    main()
