"""Coverage of lep-bench's 95% paired intervals on simulated data with a known true difference.

Cases (harness/stats/simulate.py): binary items at 10-1000 items, PARus-style items asked in both
orders (right only if both are), USE-style exam variants (points summed per variant / 34). Each data
set goes through harness.stats.bootstrap.paired_bootstrap exactly as `lep-bench compare` and `gate` use it.
A 95% interval should hold the true difference in 93-97% of data sets; below MIN_UNITS units the
report says "too few items" instead of marking significance.

    .venv/bin/python -m benchmarks.bootstrap_coverage [--sets 1000] [--iterations 1000]
"""

import argparse
import time

from harness.stats.bootstrap import MIN_UNITS
from harness.stats.simulate import cases, coverage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()
    print(f"{args.sets} simulated paired data sets per case, {args.iterations} resamples each; MIN_UNITS = {MIN_UNITS}")
    print("| case | true Δ | coverage of 95% interval | mean width | seconds |")
    print("|---|---|---|---|---|")
    for case in cases():
        started = time.perf_counter()
        share, width = coverage(case, args.sets, args.iterations, seed=2024)
        print(
            f"| {case.name} | {case.truth:+.4f} | {share:.3f} | {width:.3f} | {time.perf_counter() - started:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
