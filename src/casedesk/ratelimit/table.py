"""The default store: a table of fixed slots in memory, mapped by every worker of one
`casedesk serve` from a file the parent creates (in /dev/shm where there is one).

A key hashes to a window of PROBES slots; a slot whose bucket is full and has nothing in
flight holds no information, so it may be taken over by another key. API users and failed
token requests have regions of their own, so that failures, which anyone can cause without
credentials, never take a user's slot; the hash is keyed with a random salt made when the
table is created, so that nobody can tell offline which keys share a window. A user without
a free slot is admitted unlimited; a failed-token key without one takes the slot of its window
whose count runs out first.

Each user slot counts the requests in flight per worker as well as in total, so that the
counts of a worker that died mid-request are dropped, not kept forever: workers are recorded
by pid and start time, and a dead one's column is cleared when a new worker registers, and at
most once a second when a key is at its concurrency limit. One lock (flock on the file, plus
a thread lock) guards the whole table; every operation holds it for a few microseconds and
never waits on I/O (which workers are alive is read from /proc outside it).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import mmap
import os
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from casedesk.config import RateLimits
from casedesk.ratelimit import bucket as buckets
from casedesk.ratelimit.bucket import NS, Bucket, Decision
from casedesk.ratelimit.processes import is_alive, signalable, start_ticks

log = logging.getLogger("casedesk")

ENV = "CASEDESK_RATE_LIMIT_SHARED_FILE"
MAGIC = b"casedrl2"
PROBES = 16
SHARED_SLOTS = 4096
FAILURE_SLOTS = 4096
LOCAL_SLOTS = 1024
MAX_WORKERS = 128
REAP_INTERVAL_NS = NS
SALT_BYTES = 16

# magic, user slots, workers, next reap allowed at (ns), failure slots, salt
_HEADER = struct.Struct(f"<8sIIqI{SALT_BYTES}s")
_NEXT_REAP = struct.Struct("<q")
_NEXT_REAP_AT = 16
_HEADER_SIZE = 64
_WORKER = struct.Struct("<QQ")  # pid, start ticks
_SLOT = struct.Struct("<QqqqI")  # key hash, level, its time, full at, in flight (all workers)
_KEY = struct.Struct("<Q")
_IN_FLIGHT = struct.Struct("<I")
_IN_FLIGHT_AT = 32
_SLOT_HEAD = 40
_COUNT = struct.Struct("<H")  # in flight, one per worker
# Hashed before the key, so that a key of one kind never matches a key of the other.
_USER = b"user\x00"
_FAILURE = b"failure\x00"


def table_size(slots: int, workers: int, failure_slots: int = FAILURE_SLOTS) -> int:
    return (
        _HEADER_SIZE
        + workers * _WORKER.size
        + slots * _slot_size(workers)
        + failure_slots * _slot_size(0)
    )


def _slot_size(workers: int) -> int:
    return (_SLOT_HEAD + _COUNT.size * workers + 7) // 8 * 8


def _format(memory: mmap.mmap, *, slots: int, failure_slots: int, workers: int) -> None:
    """Done once, where the table is made: every worker reads the same salt."""
    _HEADER.pack_into(memory, 0, MAGIC, slots, workers, 0, failure_slots, os.urandom(SALT_BYTES))


def _hasher(salt: bytes, kind: bytes) -> Callable[[str], int]:
    """Keys of one kind to 64 bits, never 0 (an empty slot); cached, as every request hashes."""

    @functools.lru_cache(maxsize=8192)
    def hash_key(key: str) -> int:
        digest = hashlib.blake2b(kind + key.encode(), digest_size=8, key=salt).digest()
        return int.from_bytes(digest, "little") or 1

    return hash_key


class _Region(NamedTuple):
    first: int  # offset of its first slot
    slots: int
    slot_size: int


class _FileLock:
    """flock excludes other processes; the thread lock, other threads of this one."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._thread = threading.Lock()

    def __enter__(self) -> None:
        self._thread.acquire()
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self._thread.release()


class SlotTable:
    """The Store of ratelimit/store.py in a shared (or private) memory map."""

    def __init__(self, memory: mmap.mmap, lock: AbstractContextManager[object]) -> None:
        magic, slots, workers, _, failure_slots, salt = _HEADER.unpack_from(memory, 0)
        if magic != MAGIC:
            raise ValueError("not a casedesk rate limit table")
        self._memory = memory
        self._lock = lock
        self.salt: bytes = salt
        self._user_hash = _hasher(salt, _USER)
        self._failure_hash = _hasher(salt, _FAILURE)
        self._workers: int = workers
        self._users = _Region(_HEADER_SIZE + workers * _WORKER.size, slots, _slot_size(workers))
        self._failures = _Region(
            self._users.first + slots * self._users.slot_size, failure_slots, _slot_size(0)
        )
        self._index = -1
        self._warned_full = False
        self._warned_failures_full = False
        self._index = self._register()
        self._count_at = _SLOT_HEAD + _COUNT.size * self._index

    @classmethod
    def local(cls, slots: int = LOCAL_SLOTS) -> SlotTable:
        """A table for this process alone (an app served without `casedesk serve`'s workers)."""
        memory = mmap.mmap(-1, table_size(slots, 1, slots))
        _format(memory, slots=slots, failure_slots=slots, workers=1)
        return cls(memory, threading.Lock())

    @classmethod
    def open(cls, path: str | Path) -> SlotTable:
        fd = os.open(path, os.O_RDWR)
        try:
            memory = mmap.mmap(fd, 0)
        except BaseException:
            os.close(fd)
            raise
        return cls(memory, _FileLock(fd))

    def close(self) -> None:
        """Leave the table: this worker's entry is freed (its counts are zero by now)."""
        with self._lock:
            self._clear_worker(self._index)
        lock = self._lock
        self._memory.close()
        if isinstance(lock, _FileLock):
            os.close(lock.fd)

    def acquire(self, key: str, bucket: Bucket, *, concurrent: int, now: int) -> Decision:
        h = self._user_hash(key)
        with self._lock:
            decision, workers = self._acquire(h, bucket, concurrent, now, may_reap=True)
        if workers is None:
            return decision
        dead = self._dead(workers)
        if not dead:
            return decision
        with self._lock:
            self._clear_workers(dead)
            decision, _ = self._acquire(h, bucket, concurrent, now, may_reap=False)
        return decision

    def _acquire(
        self, h: int, bucket: Bucket, concurrent: int, now: int, *, may_reap: bool
    ) -> tuple[Decision, list[tuple[int, int, int]] | None]:
        """The decision; when refused at the concurrency limit and it is time to look for dead
        workers, also the workers to look at (outside the lock)."""
        memory = self._memory
        offset = self._slot(self._users, h, bucket, now)
        if offset is None:
            return self._fail_open(bucket), None
        _, level, at, _, in_flight = _SLOT.unpack_from(memory, offset)
        if in_flight >= concurrent:
            level = buckets.refilled(bucket, level, at, now)
            refused = buckets.decision(bucket, level, admitted=False, too_many_in_flight=True)
            return refused, self._reap_turn(now) if may_reap else None
        admitted, level, at = buckets.take(bucket, level, at, now)
        if admitted:
            in_flight += 1
            count_at = offset + self._count_at
            (mine,) = _COUNT.unpack_from(memory, count_at)
            _COUNT.pack_into(memory, count_at, mine + 1)
        _SLOT.pack_into(memory, offset, h, level, at, buckets.full_at(bucket, level, at), in_flight)
        return buckets.decision(bucket, level, admitted=admitted), None

    def release(self, key: str) -> None:
        h = self._user_hash(key)
        memory = self._memory
        with self._lock:
            offset = self._lookup(self._users, h)
            if offset is None:
                return
            count_at = offset + self._count_at
            (mine,) = _COUNT.unpack_from(memory, count_at)
            if mine == 0:
                return
            _COUNT.pack_into(memory, count_at, mine - 1)
            (in_flight,) = _IN_FLIGHT.unpack_from(memory, offset + _IN_FLIGHT_AT)
            _IN_FLIGHT.pack_into(memory, offset + _IN_FLIGHT_AT, max(0, in_flight - 1))

    def reserve(self, key: str, bucket: Bucket, *, now: int) -> Decision:
        h = self._failure_hash(key)
        memory = self._memory
        with self._lock:
            offset = self._slot(self._failures, h, bucket, now)
            if offset is None:
                offset = self._evict(h, bucket, now)
            _, level, at, _, _ = _SLOT.unpack_from(memory, offset)
            admitted, level, at = buckets.take(bucket, level, at, now)
            _SLOT.pack_into(memory, offset, h, level, at, buckets.full_at(bucket, level, at), 0)
        return buckets.decision(bucket, level, admitted=admitted)

    def refund(self, key: str, bucket: Bucket, *, now: int) -> None:
        h = self._failure_hash(key)
        memory = self._memory
        with self._lock:
            offset = self._lookup(self._failures, h)
            if offset is None:
                # Forgotten since (see _evict): the key starts with a full bucket anyway.
                return
            _, level, at, _, _ = _SLOT.unpack_from(memory, offset)
            level, at = buckets.give_back(bucket, level, at, now)
            _SLOT.pack_into(memory, offset, h, level, at, buckets.full_at(bucket, level, at), 0)

    def _slot(self, region: _Region, h: int, bucket: Bucket, now: int) -> int | None:
        """The key's slot, claimed (with a full bucket) when it has none; None when every slot
        of its window is in use."""
        found, free = self._find(region, h, now)
        if found is not None or free is None:
            return found
        return self._claim(region, free, h, bucket, now)

    def _claim(self, region: _Region, offset: int, h: int, bucket: Bucket, now: int) -> int:
        slot_size = region.slot_size
        self._memory[offset : offset + slot_size] = bytes(slot_size)
        _SLOT.pack_into(self._memory, offset, h, bucket.capacity, now, now, 0)
        return offset

    def _window(self, region: _Region, h: int) -> Iterator[int]:
        """The offsets of the PROBES slots a key may use."""
        first_slot, slots, slot_size = region
        first = h % slots
        for probe in range(PROBES):
            yield first_slot + (first + probe) % slots * slot_size

    def _lookup(self, region: _Region, h: int) -> int | None:
        memory = self._memory
        for offset in self._window(region, h):
            if _KEY.unpack_from(memory, offset)[0] == h:
                return offset
        return None

    def _find(self, region: _Region, h: int, now: int) -> tuple[int | None, int | None]:
        """The key's slot if it has one, else the first slot of its window free at `now`."""
        memory = self._memory
        free = None
        for offset in self._window(region, h):
            key: int = _KEY.unpack_from(memory, offset)[0]
            if key == h:
                return offset, None
            if free is None:
                _, _, _, full, in_flight = _SLOT.unpack_from(memory, offset)
                if key == 0 or (in_flight == 0 and now >= full):
                    free = offset
        return None, free

    def _fail_open(self, bucket: Bucket) -> Decision:
        if not self._warned_full:
            self._warned_full = True
            log.warning("rate limit table full: API users without a slot are not limited")
        return buckets.decision(bucket, bucket.capacity, admitted=True)

    def _evict(self, h: int, bucket: Bucket, now: int) -> int:
        """The slot of the key's window whose count runs out first, given to the key: to make
        a throttled key's count the first to go, its caller must fail as often as it did with
        every other key of the window, so forgetting gives back no more than the filling cost.
        Refusing instead would refuse every address hashing to the window."""
        if not self._warned_failures_full:
            self._warned_failures_full = True
            log.warning(
                "rate limit table full: failed token requests forget the counts nearest to "
                "running out"
            )
        memory, region = self._memory, self._failures
        soonest = min(
            self._window(region, h), key=lambda offset: _SLOT.unpack_from(memory, offset)[3]
        )
        return self._claim(region, soonest, h, bucket, now)

    def _register(self) -> int:
        pid = os.getpid()
        started = start_ticks(pid)
        with self._lock:
            workers = self._workers_now()
        dead = self._dead(workers)
        with self._lock:
            self._clear_workers(dead)
            for index in range(self._workers):
                offset = _HEADER_SIZE + index * _WORKER.size
                if _WORKER.unpack_from(self._memory, offset)[0] == 0:
                    _WORKER.pack_into(self._memory, offset, pid, started or 0)
                    return index
        raise RuntimeError(f"the rate limit table has room for {self._workers} workers at most")

    def _reap_turn(self, now: int) -> list[tuple[int, int, int]] | None:
        """The workers to look at for dead ones, at most once a second across all workers."""
        (next_reap,) = _NEXT_REAP.unpack_from(self._memory, _NEXT_REAP_AT)
        if now < next_reap:
            return None
        _NEXT_REAP.pack_into(self._memory, _NEXT_REAP_AT, now + REAP_INTERVAL_NS)
        return self._workers_now()

    def _workers_now(self) -> list[tuple[int, int, int]]:
        """Every other registered worker: index, pid, start ticks."""
        workers: list[tuple[int, int, int]] = []
        for index in range(self._workers):
            pid, started = _WORKER.unpack_from(self._memory, _HEADER_SIZE + index * _WORKER.size)
            if pid != 0 and index != self._index:
                workers.append((index, pid, started))
        return workers

    @staticmethod
    def _dead(workers: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Reads /proc: called without the lock held."""
        return [worker for worker in workers if not is_alive(worker[1], worker[2])]

    def _clear_workers(self, dead: list[tuple[int, int, int]]) -> None:
        """Drop what these dead workers held, unless their entry was cleared or reused since."""
        for index, pid, started in dead:
            offset = _HEADER_SIZE + index * _WORKER.size
            if _WORKER.unpack_from(self._memory, offset) == (pid, started):
                self._clear_worker(index)

    def _clear_worker(self, index: int) -> None:
        memory = self._memory
        count_at = _SLOT_HEAD + _COUNT.size * index
        users = self._users
        for slot in range(users.slots):
            offset = users.first + slot * users.slot_size
            (count,) = _COUNT.unpack_from(memory, offset + count_at)
            if count:
                (in_flight,) = _IN_FLIGHT.unpack_from(memory, offset + _IN_FLIGHT_AT)
                _IN_FLIGHT.pack_into(memory, offset + _IN_FLIGHT_AT, max(0, in_flight - count))
                _COUNT.pack_into(memory, offset + count_at, 0)
        _WORKER.pack_into(memory, _HEADER_SIZE + index * _WORKER.size, 0, 0)


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
        _format(memory, slots=slots, failure_slots=failure_slots, workers=workers)


def open_store(limits: RateLimits) -> SlotTable:
    """The table `casedesk serve` shares among its workers, or one of this process's own."""
    if limits.shared_file:
        return SlotTable.open(limits.shared_file)
    return SlotTable.local()


FILE_PREFIX = "casedesk-ratelimit-"


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
