"""Waiting for the machine to go quiet between runs.

When wrk stops, the server still works through what it had accepted: a saturated search run
leaves up to one multi-second search per connection running, on the workers and in the
database. The next run would measure that leftover work, not its own requests (the first
search classes after the write workloads showed HTTP/SQL of 20-200 x; the same queries on a
quiet server, 1.0-1.1 x). So each run starts once the machine's CPUs are idle again.
"""

from __future__ import annotations

import time
from pathlib import Path

WINDOW_S = 0.5
# Busy share of all CPUs under which the machine counts as quiet: the server's timers, the
# WAL checkpointer and PostgreSQL's background writers stay well below it.
QUIET_BELOW = 0.15
MAX_WAIT_S = 120.0


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat's first line."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def busy_share(window_s: float = WINDOW_S) -> float:
    busy_before, total_before = _cpu_times()
    time.sleep(window_s)
    busy_after, total_after = _cpu_times()
    elapsed = total_after - total_before
    return (busy_after - busy_before) / elapsed if elapsed else 0.0


def until_quiet(max_wait_s: float = MAX_WAIT_S) -> float:
    """Wait until the CPUs are quiet (or max_wait_s has passed); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < max_wait_s and busy_share() >= QUIET_BELOW:
        pass
    return time.monotonic() - started
