"""lep/atomic_write.py: whole files only, with the permissions the umask gives an ordinary file."""

import os
import stat
from pathlib import Path

import pytest

from lep.atomic_write import write_json, write_text


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_umask_permissions(tmp_path: Path, umask: int, mode: int):
    previous = os.umask(umask)
    try:
        write_text(tmp_path / "a.txt", "x")
        with open(tmp_path / "plain.txt", "w") as handle:  # what an ordinary open() gives, for comparison
            handle.write("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == mode


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch):
    write_json(tmp_path / "v.json", {"a": 1})

    def killed(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_json(tmp_path / "v.json", {"a": 2})
    assert (tmp_path / "v.json").read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["v.json"]
