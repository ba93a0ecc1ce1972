"""Gate verdicts on the console: each row's verdict and every problem, failures also on stderr.

`lep-bench gate` prints one verdict, `lep-bench compare --gate` one per run of its experiment.
"""

import sys
from pathlib import Path

from rich.console import Console

from harness.gate import GateResult, gate_runs


def print_verdict(result: GateResult, max_drop: float, console: Console, label: str = "") -> bool:
    """Print each row's verdict and every problem; True when the run passed."""
    for row in result.rows:
        mark = "[red]FAIL[/red]" if row.failed else "ok  "
        if row.delta is None:
            console.print(f"{mark} {label}{row.row:32s} {row.baseline:.4f} → missing")
            continue
        interval = "" if row.low == row.high else f" [{row.low:+.4f}, {row.high:+.4f}] n={row.n}"
        console.print(
            f"{mark} {label}{row.row:32s} {row.baseline:.4f} → {row.candidate:.4f}  Δ {row.delta:+.4f}{interval}  "
            f"{row.reason}"
        )
    for note in result.notes:
        console.print(f"[dim]note: {label}{note}[/dim]")
    failed = [r for r in result.rows if r.failed]
    if failed or result.problems:
        lines = [f"{r.row}: {r.reason}" for r in failed] + result.problems
        print(
            f"gate failed for {label.strip() or result.label} (max drop {max_drop}): " + "; ".join(lines),
            file=sys.stderr,
        )
    return result.passed


def gate_experiment(run_dirs: list[Path], baseline: Path, max_drop: float, iterations: int, console: Console) -> bool:
    """Gate every run against the baseline (deterministic runs: any move beyond max_drop fails); True if all pass."""
    results = gate_runs(baseline, run_dirs, max_drop=max_drop, iterations=iterations, any_change=True)
    passed = all([print_verdict(result, max_drop, console, f"{result.label} ") for result in results])
    console.print("gate passed" if passed else "[red]gate failed[/red]")
    return passed
