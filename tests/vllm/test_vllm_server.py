"""`lep-bench run` through a (compiled) vLLM server: one server per suite, scores identical to hf, no process left.
A server that dies mid-run is tests/vllm/test_server_lifecycle.py's."""

import json
import subprocess
from pathlib import Path

import pytest

from harness.run.runner import run
from harness.run.store import load_runs
from tests.support.requests import run_request as _request


def _vllm_processes(model: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", f"serve {model}"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


@pytest.mark.slow
@pytest.mark.vllm
def test_the_vllm_server_path_matches_hf(tiny_model, tmp_path, demo_data):
    """One server for the whole suite; scores identical to hf and log-likelihoods within 1e-3 nats."""
    served = run(_request(tiny_model, tmp_path, demo_data, backend="vllm-server"), progress=lambda _: None)
    local = run(_request(tiny_model, tmp_path, demo_data, backend="hf"), progress=lambda _: None)
    tables = load_runs([served, local])
    scores = tables.tasks.pivot(index="task", columns="backend", values="score")
    assert (scores["vllm-server"] == scores["hf"]).all(), scores
    lls = {}
    for backend, run_dir in (("served", served), ("hf", local)):
        lines = (run_dir / "samples" / "ru_open_terra.jsonl").read_text().splitlines()
        lls[backend] = [resp[0][0] for line in lines for resp in json.loads(line)["resps"]]
    assert max(abs(a - b) for a, b in zip(lls["served"], lls["hf"])) < 1e-3
    assert json.loads((served / "provenance.json").read_text())["timings"]["backend_start_seconds"] > 0
    assert not _vllm_processes(tiny_model)
