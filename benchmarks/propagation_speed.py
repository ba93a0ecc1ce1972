"""Time one LEP least-squares fit on a 128k × 4096 pair of random matrices (the LLaMa-3-8B shape).

python benchmarks/propagation_speed.py [--rows 128256] [--dim 4096]
"""

import argparse
import time

import torch

from lep.least_squares import solve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=128256)
    parser.add_argument("--dim", type=int, default=4096)
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(args.rows, args.dim, generator=generator)
    truth = torch.randn(args.dim, args.dim, generator=generator) / args.dim**0.5
    b = a @ truth
    started = time.perf_counter()
    fit = solve(a, b)
    seconds = time.perf_counter() - started
    error = torch.linalg.norm(fit.map - truth.double()) / torch.linalg.norm(truth.double())
    print(f"{args.rows} x {args.dim} float32 pair, {torch.get_num_threads()} threads: fit in {seconds:.1f} s")
    print(
        f"relative residual {fit.relative_residual:.2e} (on {fit.residual_rows} rows), relative map error {error:.2e}"
    )


if __name__ == "__main__":
    main()
