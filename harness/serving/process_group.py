"""Find and kill a server's processes by PID, whatever state its leader is in.

`vllm serve` runs its engine and workers as children in its process group; when the leader dies
(SIGKILL, a crash) they are reparented to PID 1 and keep gigabytes of memory. Killing the group and
every remembered descendant by PID, then checking each PID (with its start time, so a reused PID is
not mistaken for it), is what guarantees that nothing of a server outlives it.
"""

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessId:
    """A process as the kernel knows it: its PID and start time (clock ticks since boot)."""

    pid: int
    started: int


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent PID, process group, start time) from /proc, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[19])


def _all_live() -> dict[int, tuple[str, int, int, int]]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) and stat[0] not in ("Z", "X"):
            table[int(entry)] = stat
    return table


def group_members(group: int) -> set[ProcessId]:
    """Live (not zombie) processes whose process group is `group`."""
    return {ProcessId(pid, stat[3]) for pid, stat in _all_live().items() if stat[2] == group}


def group_names(group: int) -> dict[int, str]:
    """PID -> process name (the kernel's `comm`, e.g. VLLM::Worker) of the live members of a process group."""
    names = {}
    for process in group_members(group):
        try:
            names[process.pid] = Path(f"/proc/{process.pid}/comm").read_text().strip()
        except OSError:  # gone since the listing
            continue
    return names


def descendants(pid: int) -> set[ProcessId]:
    """Live processes below `pid`, including any that left its process group."""
    table = _all_live()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, stat in table.items() if stat[1] in frontier and child not in found}
        found |= frontier
    return {ProcessId(child, table[child][3]) for child in found}


def still_alive(processes: set[ProcessId]) -> set[ProcessId]:
    """Those of `processes` that still run (same PID and start time, not a zombie)."""
    alive = set()
    for process in processes:
        stat = _stat(process.pid)
        if stat and stat[0] not in ("Z", "X") and stat[3] == process.started:
            alive.add(process)
    return alive


def kill_all(group: int, known: set[ProcessId], timeout_s: float = 10.0) -> set[ProcessId]:
    """SIGKILL the process group and each known process; return those still alive after `timeout_s`."""
    targets = group_members(group) | still_alive(known)
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    deadline = time.monotonic() + timeout_s
    while True:
        for process in still_alive(targets):
            try:
                os.kill(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        survivors = still_alive(targets) | group_members(group)
        if not survivors or time.monotonic() > deadline:
            return survivors
        targets |= survivors
        time.sleep(0.1)
