"""Telling a live worker from a dead one whose pid may since have been reused."""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot; 0 without /proc), or None when it
    is gone or a zombie."""
    if not (_PROC / "self" / "stat").exists():
        return 0 if signalable(pid) else None
    try:
        stat = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    fields = stat.rsplit(b")", 1)[1].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def is_alive(pid: int, started: int) -> bool:
    return start_ticks(pid) == started


def signalable(pid: int) -> bool:
    """Whether a process with this pid exists (perhaps another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
