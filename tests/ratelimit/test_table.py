"""The shared-memory table: concurrency and buckets per key, shared by every process that maps
it, and the in-flight counts of a dead worker dropped."""

from __future__ import annotations

import logging
import mmap
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

from casedesk.config import RateLimits
from casedesk.ratelimit.bucket import NS, Bucket
from casedesk.ratelimit.table import (
    ENV,
    FILE_PREFIX,
    SlotTable,
    create_file,
    open_store,
    remove_stale_files,
    shared_by_workers,
)

BUCKET = Bucket(burst=5, refill=1, refill_seconds=60)
ROOMY = Bucket(burst=1_000, refill=1_000, refill_seconds=1)
FAILURES = Bucket(burst=3, refill=1, refill_seconds=3600)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    table = tmp_path / "limits"
    create_file(table, slots=64, workers=8)
    return table


@pytest.fixture
def table(path: Path) -> Iterator[SlotTable]:
    opened = SlotTable.open(path)
    yield opened
    opened.close()


def test_requests_are_admitted_until_the_concurrency_limit(table: SlotTable) -> None:
    answers = [table.acquire("alice", ROOMY, concurrent=3, now=0) for _ in range(4)]
    assert [a.admitted for a in answers] == [True, True, True, False]
    assert answers[-1].too_many_in_flight
    assert answers[-1].retry_after_seconds == 1


def test_a_released_request_frees_its_place(table: SlotTable) -> None:
    for _ in range(3):
        table.acquire("alice", ROOMY, concurrent=3, now=0)
    table.release("alice")
    assert table.acquire("alice", ROOMY, concurrent=3, now=0).admitted


def test_a_refused_request_takes_no_token(table: SlotTable) -> None:
    for _ in range(2):
        table.acquire("alice", BUCKET, concurrent=2, now=0)
    assert not table.acquire("alice", BUCKET, concurrent=2, now=0).admitted
    table.release("alice")
    assert table.acquire("alice", BUCKET, concurrent=2, now=0).remaining == 2


def test_the_bucket_refuses_once_empty_and_says_when_to_retry(table: SlotTable) -> None:
    answers = [table.acquire("alice", BUCKET, concurrent=100, now=0) for _ in range(6)]
    assert [a.remaining for a in answers[:5]] == [4, 3, 2, 1, 0]
    refused = answers[5]
    assert not refused.admitted
    assert not refused.too_many_in_flight
    assert (refused.retry_after_seconds, refused.reset_seconds) == (60, 300)
    assert table.acquire("alice", BUCKET, concurrent=100, now=60 * NS).admitted


def test_keys_are_limited_apart(table: SlotTable) -> None:
    for _ in range(5):
        table.acquire("alice", BUCKET, concurrent=100, now=0)
    assert not table.acquire("alice", BUCKET, concurrent=100, now=0).admitted
    assert table.acquire("bob", BUCKET, concurrent=100, now=0).remaining == 4


def test_reservations_are_refused_once_the_bucket_is_empty(table: SlotTable) -> None:
    answers = [table.reserve("alice", FAILURES, now=0) for _ in range(4)]
    assert [a.admitted for a in answers] == [True, True, True, False]
    assert answers[-1].retry_after_seconds == 3600
    assert table.reserve("alice", FAILURES, now=3600 * NS).admitted


def test_a_refund_gives_the_reservation_back(table: SlotTable) -> None:
    for _ in range(3):
        table.reserve("alice", FAILURES, now=0)
    table.refund("alice", FAILURES, now=0)
    assert table.reserve("alice", FAILURES, now=0).admitted
    assert not table.reserve("alice", FAILURES, now=0).admitted


def test_a_refund_for_a_key_without_a_slot_changes_nothing(table: SlotTable) -> None:
    table.refund("alice", FAILURES, now=0)
    assert table.reserve("alice", FAILURES, now=0).remaining == 2


def test_two_processes_mapping_one_file_share_the_limits(path: Path, table: SlotTable) -> None:
    other = SlotTable.open(path)
    try:
        for _ in range(3):
            other.acquire("alice", ROOMY, concurrent=5, now=0)
        answers = [table.acquire("alice", ROOMY, concurrent=5, now=0) for _ in range(3)]
        assert [a.admitted for a in answers] == [True, True, False]
        other.release("alice")
        assert table.acquire("alice", ROOMY, concurrent=5, now=0).admitted
    finally:
        other.close()


def test_a_full_idle_bucket_gives_its_slot_to_another_key(tmp_path: Path) -> None:
    create_file(tmp_path / "tiny", slots=16, workers=1)
    tiny = SlotTable.open(tmp_path / "tiny")
    try:
        for user in range(16):
            tiny.acquire(f"user-{user}", BUCKET, concurrent=5, now=0)
        tiny.release("user-3")
        # user-3 holds nothing in flight, and its bucket is full again a minute later.
        assert tiny.acquire("newcomer", BUCKET, concurrent=5, now=60 * NS).remaining == 4
        assert tiny.acquire("newcomer", BUCKET, concurrent=5, now=60 * NS).remaining == 3
    finally:
        tiny.close()


def test_a_full_table_admits_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    create_file(tmp_path / "tiny", slots=16, workers=1)
    tiny = SlotTable.open(tmp_path / "tiny")
    try:
        for user in range(16):
            tiny.acquire(f"user-{user}", BUCKET, concurrent=5, now=0)
        with caplog.at_level(logging.WARNING, logger="casedesk"):
            assert tiny.acquire("newcomer", BUCKET, concurrent=5, now=0).admitted
        assert "rate limit table full" in caplog.text
    finally:
        tiny.close()


def test_failed_token_requests_never_take_a_users_slot(tmp_path: Path) -> None:
    """Anyone can fail a token request: were failures to share the users' slots, enough of
    them would leave a user with none, and so unlimited."""
    create_file(tmp_path / "tiny", slots=16, failure_slots=16, workers=1)
    tiny = SlotTable.open(tmp_path / "tiny")
    try:
        for guess in range(64):
            tiny.reserve(f"token:guess-{guess}\x00192.0.2.7", FAILURES, now=0)
        answers = [tiny.acquire("alice", BUCKET, concurrent=100, now=0) for _ in range(6)]
        assert [a.admitted for a in answers] == [True] * 5 + [False]
    finally:
        tiny.close()


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[SlotTable]:
    """16 failure slots: every key's window is the whole region."""
    create_file(tmp_path / "tiny", slots=16, failure_slots=16, workers=1)
    opened = SlotTable.open(tmp_path / "tiny")
    yield opened
    opened.close()


def test_with_no_free_slot_a_new_key_is_counted_all_the_same(
    tiny: SlotTable, caplog: pytest.LogCaptureFixture
) -> None:
    for guess in range(16):
        tiny.reserve(f"token:guess-{guess}\x00192.0.2.7", FAILURES, now=0)
    with caplog.at_level(logging.WARNING, logger="casedesk"):
        answers = [tiny.reserve("token:alice\x00198.51.100.1", FAILURES, now=NS) for _ in range(4)]
    assert [a.admitted for a in answers] == [True, True, True, False]
    assert "failed token requests forget the counts nearest to running out" in caplog.text


def test_with_no_free_slot_the_count_that_runs_out_first_is_forgotten(tiny: SlotTable) -> None:
    for guess in range(16):
        for _ in range(2 if guess == 5 else 3):
            tiny.reserve(f"guess-{guess}", FAILURES, now=0)
    tiny.reserve("newcomer", FAILURES, now=0)
    assert tiny.reserve("guess-5", FAILURES, now=0).remaining == 2
    assert not tiny.reserve("guess-6", FAILURES, now=0).admitted


def test_filling_the_failure_region_does_not_free_a_throttled_key(tiny: SlotTable) -> None:
    """New keys, each failing once, push out one another rather than a key that has failed
    to its limit: its caller cannot switch its throttle off by inventing keys."""
    for _ in range(3):
        tiny.reserve("token-address:192.0.2.7", FAILURES, now=0)
    for guess in range(200):
        tiny.reserve(f"token:guess-{guess}\x00192.0.2.7", FAILURES, now=guess + 1)
    assert not tiny.reserve("token-address:192.0.2.7", FAILURES, now=201).admitted


def test_each_table_has_a_salt_of_its_own_that_all_its_workers_read(tmp_path: Path) -> None:
    create_file(tmp_path / "one", slots=16, workers=2)
    create_file(tmp_path / "two", slots=16, workers=2)
    first, second = SlotTable.open(tmp_path / "one"), SlotTable.open(tmp_path / "one")
    other = SlotTable.open(tmp_path / "two")
    try:
        assert first.salt == second.salt
        assert first.salt != other.salt
        assert len(first.salt) == 16
    finally:
        for table in (first, second, other):
            table.close()


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

    monkeypatch.setattr("casedesk.ratelimit.table.is_alive", is_alive)
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
from casedesk.ratelimit.table import SlotTable

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


def test_without_a_shared_file_each_app_has_a_table_of_its_own() -> None:
    first, second = open_store(RateLimits()), open_store(RateLimits())
    try:
        first.acquire("alice", BUCKET, concurrent=1, now=0)
        assert second.acquire("alice", BUCKET, concurrent=1, now=0).admitted
    finally:
        first.close()
        second.close()


def test_serve_with_several_workers_hands_them_a_new_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with shared_by_workers(RateLimits(), workers=2):
        shared = Path(os.environ[ENV])
        table = SlotTable.open(shared)
        table.close()
    assert not shared.exists()
    assert ENV not in os.environ


@pytest.mark.parametrize(
    ("limits", "workers"),
    [(RateLimits(), 1), (RateLimits(enabled=False), 4)],
)
def test_one_worker_or_no_limits_need_no_shared_table(
    monkeypatch: pytest.MonkeyPatch, limits: RateLimits, workers: int
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with shared_by_workers(limits, workers=workers):
        assert ENV not in os.environ


def test_a_killed_servers_table_is_removed_by_the_next_start(tmp_path: Path) -> None:
    """A server killed with SIGKILL cannot remove its table; the next one does, and leaves
    the tables of servers still running alone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{FILE_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{FILE_PREFIX}{os.getpid()}-def"
    other = tmp_path / "unrelated-file"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    remove_stale_files(tmp_path)
    assert not stale.exists()
    assert live.exists()
    assert other.exists()


def test_a_stale_table_that_cannot_be_removed_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a /dev/shm shared with other users, a dead server's table may be another user's."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    theirs = tmp_path / f"{FILE_PREFIX}{dead.pid}-abc"
    ours = tmp_path / f"{FILE_PREFIX}{dead.pid}-def"
    for path in (theirs, ours):
        path.write_bytes(b"x")
    unlink = Path.unlink

    def unlink_unless_theirs(self: Path, missing_ok: bool = False) -> None:
        if self == theirs:
            raise PermissionError(13, "Permission denied", str(self))
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink_unless_theirs)
    remove_stale_files(tmp_path)
    assert theirs.exists()
    assert not ours.exists()
