"""Workers of one table: room for so many, and the in-flight counts of a dead one given back
(with /proc read outside the table's lock)."""

from __future__ import annotations

import mmap
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

import pytest

from casedesk.ratelimit.bucket import NS, Bucket
from casedesk.ratelimit.shared_file import create_file
from casedesk.ratelimit.slots import SlotTable

ROOMY = Bucket(burst=1_000, refill=1_000, refill_seconds=1)


class WatchedLock:
    """A thread lock that says whether it is held."""

    def __init__(self) -> None:
        self.held = False
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()
        self.held = True

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.held = False
        self._lock.release()


def test_which_workers_are_alive_is_read_outside_the_lock(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/proc is I/O: every other worker would wait on it."""
    lock = WatchedLock()
    held_while_reading: list[bool] = []

    def is_alive(pid: int, started: int) -> bool:
        held_while_reading.append(lock.held)
        return True

    monkeypatch.setattr("casedesk.ratelimit.reaping.is_alive", is_alive)
    with open(path, "r+b") as file, mmap.mmap(file.fileno(), 0) as memory:
        SlotTable(memory, lock)
        second = SlotTable(memory, lock)  # looks at the first when it registers
        for _ in range(2):  # and again when alice reaches her limit
            second.acquire("alice", ROOMY, concurrent=1, now=10 * NS)
    assert held_while_reading == [False, False]


def test_a_table_has_room_for_its_workers_only(tmp_path: Path) -> None:
    create_file(tmp_path / "small", slots=16, workers=2)
    first, second = SlotTable.open(tmp_path / "small"), SlotTable.open(tmp_path / "small")
    try:
        with pytest.raises(RuntimeError, match="room for 2 workers"):
            SlotTable.open(tmp_path / "small")
    finally:
        first.close()
        second.close()


HOLD_THREE = """
import sys
from casedesk.ratelimit.bucket import Bucket
from casedesk.ratelimit.slots import SlotTable

table = SlotTable.open(sys.argv[1])
for _ in range(3):
    assert table.acquire("alice", Bucket(1000, 1000, 1), concurrent=3, now=0).admitted
print("holding", flush=True)
sys.stdin.read()
"""


def holding_three(path: Path) -> subprocess.Popen[str]:
    """A worker process that has taken 3 of alice's places and keeps them."""
    worker = subprocess.Popen(
        [sys.executable, "-c", HOLD_THREE, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "holding":
        kill(worker)
        pytest.fail("the worker process did not start")
    return worker


def kill(worker: subprocess.Popen[str]) -> None:
    """Dies as a crashed worker does: without releasing anything."""
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    for pipe in (worker.stdin, worker.stdout):
        if pipe is not None:
            pipe.close()


def test_places_held_by_a_worker_that_died_are_given_back(path: Path, table: SlotTable) -> None:
    worker = holding_three(path)
    try:
        # A live worker's requests in flight count here too.
        assert table.acquire("alice", ROOMY, concurrent=3, now=10 * NS).too_many_in_flight
    finally:
        kill(worker)
    # The table looks for dead workers at most once a second.
    assert table.acquire("alice", ROOMY, concurrent=3, now=10 * NS + NS // 2).too_many_in_flight
    assert table.acquire("alice", ROOMY, concurrent=3, now=11 * NS).admitted


def test_a_new_worker_clears_what_a_dead_one_held(path: Path) -> None:
    kill(holding_three(path))
    successor = SlotTable.open(path)
    try:
        answers = [successor.acquire("alice", ROOMY, concurrent=3, now=0) for _ in range(3)]
        assert all(a.admitted for a in answers)
    finally:
        successor.close()
