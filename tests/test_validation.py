"""The validation layer, the process-group killer and the signal handling, without vLLM."""

import json
import logging
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.interruption import Interrupted, on_interrupt, stop_on_signals
from harness.process_group import descendants, group_members, kill_all, still_alive
from harness.serving import VllmServer
from lep.embedding_training import TrainSettings, check_settings, last_good_checkpoint
from lep.errors import InputError
from lep.validation import check_output_dir, safe_name


def test_every_bad_setting_is_named_in_one_error():
    with pytest.raises(InputError) as error:
        check_settings({"seq_len": 0, "learning_rate": -1.0, "packing": "x", "colour": 1})
    message = str(error.value)
    for part in ("seq_len=0", "learning_rate=-1.0", "packing='x'", "unknown setting 'colour'"):
        assert part in message
    assert check_settings(TrainSettings()) == TrainSettings()


def test_names_and_output_dirs(tmp_path):
    for bad in ("../x", "a/b", ".hidden", "", "x\\y"):
        with pytest.raises(InputError):
            safe_name(bad, "--name")
    assert safe_name("my-model_1.5", "--name") == "my-model_1.5"
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="is a file"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(InputError, match="so no directory can be made"):
        check_output_dir(tmp_path / "f" / "below")
    check_output_dir(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists(), "checking must not create anything"


def _weights(folder: Path, complete: bool) -> None:
    folder.mkdir(parents=True)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    (folder / "model.safetensors").write_bytes(
        struct.pack("<Q", len(header)) + header + b"\0" * (16 if complete else 3)
    )


def test_a_corrupt_last_checkpoint_falls_back_to_the_previous_with_a_warning(tmp_path, caplog):
    for step, complete in ((2, True), (10, True), (12, False)):
        _weights(tmp_path / f"checkpoint-{step}", complete)
    with caplog.at_level(logging.WARNING):
        assert last_good_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    assert "skipping checkpoint" in caplog.text and "checkpoint-12" in caplog.text and "truncated" in caplog.text
    assert last_good_checkpoint(tmp_path / "none") is None


def _orphaning_group() -> subprocess.Popen:
    """A leader with two children in its own session, like `vllm serve` with its engine and worker."""
    leader = subprocess.Popen(["sh", "-c", "sleep 300 & sleep 300 & wait"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(descendants(leader.pid)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return leader


def test_stop_kills_the_group_when_its_leader_is_already_dead(tmp_path):
    leader = _orphaning_group()
    children = descendants(leader.pid)
    server = VllmServer(tmp_path, "fake")
    server.process, server.known = leader, children
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait()
    assert still_alive(children), "the children outlive their leader (what orphaned vLLM's engine)"
    server.stop()
    assert not still_alive(children) and not group_members(leader.pid)


def test_kill_all_reports_nothing_left(tmp_path):
    leader = _orphaning_group()
    children = descendants(leader.pid)
    assert kill_all(leader.pid, children) == set()
    leader.wait()
    assert not still_alive(children)


def test_a_signal_runs_the_callbacks_raises_and_is_remembered():
    called, before = [], signal.getsignal(signal.SIGTERM)  # not SIG_DFL after an in-process ray.init
    on_interrupt(1, lambda: called.append(True))
    try:
        with stop_on_signals() as received, pytest.raises(Interrupted) as error:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    finally:
        on_interrupt(1, None)
    assert error.value.signum == signal.SIGTERM and received() == signal.SIGTERM and called == [True]
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize(
    "args",
    [
        ["adapt", "train", "--model", ".", "--corpus", "README.md", "--out", "o", "--seq-len", "0"],
        ["compare", "nowhere", "--iterations", "0"],
    ],
    ids=["train-seq-len-0", "compare-iterations-0"],
)
def test_a_bad_number_stops_before_torch_is_imported(args, tmp_path):
    """`--seq-len 0` once grew to 24 GB; now the error comes from the settings alone, before torch loads."""
    probe = f"import sys; from harness.cli import main; status = main({args!r}); print(status, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.stdout.split() == ["2", "False"], result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
