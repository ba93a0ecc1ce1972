"""How often does `lep-bench gate` fail? False alarms with no true change and detection of true drops
of 0.01 / 0.02 / 0.05 in every task, at the ru-open and darumeru item counts, under several rules.

Each simulated data set holds paired binary per-item scores for every task of the suite (the
candidate differs from the baseline on ~20% of items, `harness.stats.simulate.binary_pair`), goes
through the gate's own paired tests and each rule; a gate fails when any row (task, group,
total) fails. Binary items are the noisiest case: continuous scores (chrF++, copy length) vary less.

    .venv/bin/python -m benchmarks.gate_power [--sets 250] [--iterations 200] [--max-drop 0.01] [--suites ru-open]
"""

import argparse
import time

import numpy as np

from benchmarks.suite_sizes import SIZES
from harness.gate import decide
from harness.stats.estimates import Delta, paired_comparison, suite_groups
from harness.stats.simulate import binary_pair

MEAN = lambda task: lambda items: sum(items) / len(items)  # noqa: E731
RULES = {
    "proven drop (old): upper end < -max_drop": lambda d, m: {r: x.high < -m for r, x in d.items()},
    "point drop > max_drop": lambda d, m: {r: x.delta < -m for r, x in d.items()},
    "drop > max_drop, one-sided p < 0.05, uncorrected": lambda d, m: {
        r: x.delta < -m and x.p_drop < 0.05 for r, x in d.items()
    },
    "CHOSEN: drop > max_drop, one-sided exact/permutation p < 0.05 Holm over rows; unreachable: point drop": lambda d, m: {
        r: v[0] for r, v in decide(d, m).items()
    },
}


def simulate(suite: str, drop: float, sets: int, iterations: int, max_drop: float, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    fails = dict.fromkeys(RULES, 0)
    for k in range(sets):
        cand, ref = {}, {}
        for task, n in SIZES[suite].items():
            c, r = binary_pair(n, -drop, rng)
            cand[task], ref[task] = c["t"], r["t"]
        deltas: dict[str, Delta] = paired_comparison(
            cand, ref, suite_groups(suite), iterations=iterations, seed=k, aggregation=MEAN
        )
        for name, rule in RULES.items():
            fails[name] += any(rule(deltas, max_drop).values())
    return {name: count / sets for name, count in fails.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=250)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--max-drop", type=float, default=0.01)
    parser.add_argument("--suites", nargs="+", choices=sorted(SIZES), default=sorted(SIZES))
    args = parser.parse_args()
    drops = (0.0, 0.01, 0.02, 0.05)
    print(
        f"gate failure rate over {args.sets} simulated data sets per cell ({args.iterations} bootstrap draws each), max_drop {args.max_drop}"
    )
    for suite in args.suites:
        started = time.perf_counter()
        table = {
            drop: simulate(suite, drop, args.sets, args.iterations, args.max_drop, seed=int(drop * 1000))
            for drop in drops
        }
        print(
            f"\n{suite} ({len(SIZES[suite])} tasks, {sum(SIZES[suite].values())} items; {time.perf_counter() - started:.0f} s)"
        )
        print(f"| rule | no change (false alarm) | {' | '.join(f'drop {d}' for d in drops[1:])} |")
        print("|---|---|" + "---|" * (len(drops) - 1))
        for name in RULES:
            print(f"| {name} | " + " | ".join(f"{table[d][name]:.3f}" for d in drops) + " |")


if __name__ == "__main__":
    main()
