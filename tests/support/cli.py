"""lep-bench's command line run in this process (argparse's usage errors included), as a user meets it."""

from pathlib import Path

import pytest

from harness.cli import main


def run_cli(argv: list[str | Path], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `lep-bench ARGV`."""
    capsys.readouterr()  # what earlier steps of the test printed is not this command's
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse: a usage error (2) or --help (0)
        status = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err
