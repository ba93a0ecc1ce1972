"""Coverage of lep-bench's 95% intervals at small n, on simulated data with a known answer (harness/stats/coverage.py).

Cells: n resampling units in {9, 12, 20, 30, 100, 1000} × intra-cluster correlation {0, 0.1, 0.3} × 0/1 or
continuous scores; at ICC 0 each unit is one item, above it 4 correlated items. For each cell, the share of
data sets whose one-model interval holds the true mean and whose paired interval holds the true difference
(nominal 0.95; with 1,000 sets a cell's own Monte Carlo error is ±0.014). Then whole tasks with their real
aggregations (binary items, PARus both orders, USE variants) through the gate's `paired_comparison`.

    .venv/bin/python -m benchmarks.small_n_coverage [--sets 1000] [--iterations 1000]
"""

import argparse
import time

from harness.stats.coverage import ICCS, SIZES, case_coverage, coverage_cell
from harness.stats.simulate import cases


def _mark(share: float) -> str:
    return "" if 0.93 <= share <= 0.97 else " (outside 0.93-0.97)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()
    print(f"{args.sets} simulated data sets per cell, {args.iterations} bootstrap draws each")
    print(
        "| scores | ICC | n units | one model: coverage (method, mean width) | paired Δ: coverage (method, mean width) | s |"
    )
    print("|---|---|---|---|---|---|")
    for binary in (True, False):
        for icc in ICCS:
            for n in SIZES:
                started = time.perf_counter()
                c = coverage_cell(n, icc, binary, args.sets, args.iterations, seed=2026)
                print(
                    f"| {'0/1' if binary else 'continuous'} | {icc} | {n} "
                    f"| {c.single:.3f}{_mark(c.single)} ({c.single_method}, {c.single_width:.3f}) "
                    f"| {c.paired:.3f}{_mark(c.paired)} ({c.paired_method}, {c.paired_width:.3f}) "
                    f"| {time.perf_counter() - started:.0f} |",
                    flush=True,
                )
    print()
    print("| whole task | true Δ | paired coverage | mean width | s |")
    print("|---|---|---|---|---|")
    for case in cases():
        started = time.perf_counter()
        share, width = case_coverage(case, args.sets, args.iterations, seed=2024)
        print(
            f"| {case.name} | {case.truth:+.4f} | {share:.3f}{_mark(share)} | {width:.3f} "
            f"| {time.perf_counter() - started:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
