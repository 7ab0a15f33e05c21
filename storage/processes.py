"""Processes by id: alive, and when they started (so a pid reused by another process is told
apart from the one recorded)."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """Is a process of this id running here? (A zombie, ended but not reaped, is not.)"""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def process_started(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (/proc/PID/stat field 22): with
    the pid it names one process, never another that reuses the pid. None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return int(handle.read().rsplit(")", 1)[-1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def same_process(pid: int | None, started: int | None) -> bool:
    """Is the process recorded as (pid, start time) still running: its pid alive and, where its
    start time was recorded, started then (else another process took the pid over)."""
    if not pid or not process_alive(pid):
        return False
    return started is None or process_started(pid) in (started, None)
