"""The shared table's file: made for several workers, handed to them, removed after them, and
left by a killed server removed by the next start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casedesk.config import RateLimits
from casedesk.ratelimit.bucket import Bucket
from casedesk.ratelimit.shared_file import (
    ENV,
    FILE_PREFIX,
    open_store,
    remove_stale_files,
    shared_by_workers,
)
from casedesk.ratelimit.slots import SlotTable

BUCKET = Bucket(burst=5, refill=1, refill_seconds=60)


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
