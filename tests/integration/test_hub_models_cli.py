"""`lep-bench run --model org/name` offline on a Hugging Face cache laid out as the hub client writes it: the run
reads the snapshot and records its commit; the same commit is reused, a new one is a new run; a miss or an unknown
id is one error line, exit 2, and nothing written."""

import json
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub.errors import RepositoryNotFoundError

from tests.support.cli import run_cli
from tests.support.hub_cache import add_snapshot

FIRST, SECOND = "1" * 40, "2" * 40


def _run(model: str, out: Path, data: Path, capsys) -> tuple[int, str, str]:
    argv = ["run", "--model", model, "--suite", "ru-open", "--tasks", "ru_open_terra", "--limit", "2"]
    return run_cli([*argv, "--backend", "hf", "--data-dir", data, "--out", out], capsys)


def _wrote(stdout: str) -> Path:
    """The run dir the command printed last (the console may wrap it)."""
    return Path("".join(stdout.rsplit("Wrote ", 1)[1].split()))


def test_a_hub_id_runs_offline_on_its_snapshot_and_its_commit_names_the_run(
    hub_cache, tiny_model, demo_data, tmp_path, capsys
):
    snapshot = add_snapshot(hub_cache, "org/tiny", tiny_model, FIRST)
    out = tmp_path / "runs"
    status, stdout, stderr = _run("org/tiny", out, demo_data, capsys)
    assert status == 0, stderr
    first = _wrote(stdout)
    assert first.parent.parent == out / "tiny"
    spec = json.loads((first / "provenance.json").read_text())["spec"]
    assert spec["path"] == str(snapshot)
    assert spec["sources"]["model"] == {"source": "hub", "id": "org/tiny", "revision": "main", "commit": FIRST}

    status, stdout, _ = _run("org/tiny", out, demo_data, capsys)
    assert (status, _wrote(stdout)) == (0, first)
    assert "reusing 1 finished task(s)" in stdout

    add_snapshot(hub_cache, "org/tiny", tiny_model, SECOND)  # main moves to a new commit
    status, stdout, _ = _run("org/tiny", out, demo_data, capsys)
    second = _wrote(stdout)
    assert status == 0 and second != first
    assert json.loads((second / "provenance.json").read_text())["spec"]["sources"]["model"]["commit"] == SECOND


class _Missing(RepositoryNotFoundError):
    def __init__(self) -> None:
        Exception.__init__(self, "404 Repository Not Found")


def _not_on_the_hub(*args, **kwargs):
    raise _Missing()


@pytest.mark.parametrize(
    "online, line",
    [
        (
            False,
            "error: hub id org/absent@main is not in the Hugging Face cache ({cache}) and HF_HUB_OFFLINE=1: download "
            "it once online (hf download org/absent --revision main) or give a local directory\n",
        ),
        (
            True,
            "error: org/absent is neither a local path nor a repo on the Hugging Face hub (a private or gated one "
            "needs a login: hf auth login, or HF_TOKEN)\n",
        ),
    ],
)
def test_a_missing_or_unknown_id_is_one_line_exit_2_and_nothing_written(
    hub_cache, demo_data, tmp_path, capsys, monkeypatch, online, line
):
    if online:  # the hub's answer, without the network
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(huggingface_hub, "snapshot_download", _not_on_the_hub)
    status, stdout, stderr = _run("org/absent", tmp_path / "runs", demo_data, capsys)
    assert (status, stderr) == (2, line.format(cache=hub_cache))
    assert not (tmp_path / "runs").exists()
