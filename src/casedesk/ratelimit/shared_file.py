"""The life of the file that the workers of one `casedesk serve` share their rate limit table
through: made by the parent (in /dev/shm where there is one) before the workers start, its
path handed to them in the environment, removed when they have stopped, and removed by the
next start when a server was killed before it could."""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from casedesk.config import RateLimits
from casedesk.ratelimit.layout import format_table, table_size
from casedesk.ratelimit.processes import signalable
from casedesk.ratelimit.slots import SlotTable

ENV = "CASEDESK_RATE_LIMIT_SHARED_FILE"
FILE_PREFIX = "casedesk-ratelimit-"
SHARED_SLOTS = 4096
FAILURE_SLOTS = 4096
MAX_WORKERS = 128


def create_file(
    path: str | Path,
    *,
    slots: int = SHARED_SLOTS,
    failure_slots: int = FAILURE_SLOTS,
    workers: int = MAX_WORKERS,
) -> None:
    """An empty table at `path` (replacing any file there), with a new salt."""
    with open(path, "wb") as empty:
        empty.truncate(table_size(slots, workers, failure_slots))
    with open(path, "r+b") as file, mmap.mmap(file.fileno(), 0) as memory:
        format_table(memory, slots=slots, failure_slots=failure_slots, workers=workers)


def open_store(limits: RateLimits) -> SlotTable:
    """The table `casedesk serve` shares among its workers, or one of this process's own."""
    if limits.shared_file:
        return SlotTable.open(limits.shared_file)
    return SlotTable.local()


def remove_stale_files(directory: Path) -> None:
    """Remove the tables of servers that died without cleaning up (SIGKILL): each file is
    named after the pid of the server that made it."""
    for path in directory.glob(f"{FILE_PREFIX}*-*"):
        pid = path.name.removeprefix(FILE_PREFIX).partition("-")[0]
        if pid.isdigit() and not signalable(int(pid)):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                # Another user's file in a shared /dev/shm: theirs to remove, not ours.
                continue


@contextmanager
def shared_by_workers(limits: RateLimits, *, workers: int) -> Iterator[None]:
    """While `casedesk serve` runs several workers: a new table for them, its path in the
    environment they inherit, removed when they have stopped."""
    if not limits.enabled or workers < 2 or limits.shared_file:
        yield
        return
    directory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    remove_stale_files(Path(directory))
    fd, path = tempfile.mkstemp(prefix=f"{FILE_PREFIX}{os.getpid()}-", dir=directory)
    os.close(fd)
    try:
        create_file(path)
        os.environ[ENV] = path
        yield
    finally:
        os.environ.pop(ENV, None)
        Path(path).unlink(missing_ok=True)
