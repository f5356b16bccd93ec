"""The default store: a table of fixed slots in memory, private to one process or mapped by
every worker of one `casedesk serve` from a file (shared_file.py).

A key hashes to a window of PROBES slots; a slot whose bucket is full and has nothing in
flight holds no information, so it may be taken over by another key. API users and failed
token requests have regions of their own, so that failures, which anyone can cause without
credentials, never take a user's slot; the hash is keyed with a random salt made when the
table is created, so that nobody can tell offline which keys share a window. A user without
a free slot is admitted unlimited; a failed-token key without one takes the slot of its window
whose count runs out first.

One lock (flock on the file, plus a thread lock) guards the whole table; every operation holds
it for a few microseconds and never waits on I/O. The in-flight counts of workers that died
are given back by reaping.py.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import mmap
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from casedesk.ratelimit.bucket import Bucket, Decision, decision, full_at, give_back, refilled, take
from casedesk.ratelimit.layout import (
    COUNT,
    HEADER,
    IN_FLIGHT,
    IN_FLIGHT_AT,
    KEY,
    MAGIC,
    SLOT,
    Region,
    count_at,
    format_table,
    slot_size,
    table_size,
    worker_at,
)
from casedesk.ratelimit.reaping import Worker, Workers

log = logging.getLogger("casedesk")

PROBES = 16
LOCAL_SLOTS = 1024
# Hashed before the key, so that a key of one kind never matches a key of the other.
_USER = b"user\x00"
_FAILURE = b"failure\x00"


def _hasher(salt: bytes, kind: bytes) -> Callable[[str], int]:
    """Keys of one kind to 64 bits, never 0 (an empty slot); cached, as every request hashes."""

    @functools.lru_cache(maxsize=8192)
    def hash_key(key: str) -> int:
        digest = hashlib.blake2b(kind + key.encode(), digest_size=8, key=salt).digest()
        return int.from_bytes(digest, "little") or 1

    return hash_key


class _FileLock:
    """flock excludes other processes; the thread lock, other threads of this one."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._thread = threading.Lock()

    def __enter__(self) -> None:
        self._thread.acquire()
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self._thread.release()


class SlotTable:
    """The Store of ratelimit/store.py in a shared (or private) memory map."""

    def __init__(self, memory: mmap.mmap, lock: AbstractContextManager[object]) -> None:
        magic, slots, workers, _, failure_slots, salt = HEADER.unpack_from(memory, 0)
        if magic != MAGIC:
            raise ValueError("not a casedesk rate limit table")
        self._memory = memory
        self._lock = lock
        self.salt: bytes = salt
        self._user_hash = _hasher(salt, _USER)
        self._failure_hash = _hasher(salt, _FAILURE)
        self._users = Region(worker_at(workers), slots, slot_size(workers))
        self._failures = Region(
            self._users.first + slots * self._users.slot_size, failure_slots, slot_size(0)
        )
        self._warned_full = False
        self._warned_failures_full = False
        self._workers = Workers(memory, lock, capacity=workers, users=self._users)
        self._count_at = count_at(self._workers.register())

    @classmethod
    def local(cls, slots: int = LOCAL_SLOTS) -> SlotTable:
        """A table for this process alone (an app served without `casedesk serve`'s workers)."""
        memory = mmap.mmap(-1, table_size(slots, 1, slots))
        format_table(memory, slots=slots, failure_slots=slots, workers=1)
        return cls(memory, threading.Lock())

    @classmethod
    def open(cls, path: str | Path) -> SlotTable:
        """The table in the file at `path` (shared_file.create_file), locked with flock."""
        fd = os.open(path, os.O_RDWR)
        try:
            memory = mmap.mmap(fd, 0)
        except BaseException:
            os.close(fd)
            raise
        return cls(memory, _FileLock(fd))

    def close(self) -> None:
        """Leave the table: this worker's entry is freed (its counts are zero by now)."""
        self._workers.leave()
        lock = self._lock
        self._memory.close()
        if isinstance(lock, _FileLock):
            os.close(lock.fd)

    def acquire(self, key: str, bucket: Bucket, *, concurrent: int, now: int) -> Decision:
        h = self._user_hash(key)
        with self._lock:
            answer, due = self._acquire(h, bucket, concurrent, now, may_reap=True)
        if due is None or not self._workers.reap(due):
            return answer
        with self._lock:
            answer, _ = self._acquire(h, bucket, concurrent, now, may_reap=False)
        return answer

    def _acquire(
        self, h: int, bucket: Bucket, concurrent: int, now: int, *, may_reap: bool
    ) -> tuple[Decision, list[Worker] | None]:
        """The decision; when refused at the concurrency limit and it is time to look for dead
        workers, also the workers to look at (outside the lock)."""
        memory = self._memory
        offset = self._slot(self._users, h, bucket, now)
        if offset is None:
            return self._fail_open(bucket), None
        _, level, at, _, in_flight = SLOT.unpack_from(memory, offset)
        if in_flight >= concurrent:
            level = refilled(bucket, level, at, now)
            refused = decision(bucket, level, admitted=False, too_many_in_flight=True)
            return refused, self._workers.due(now) if may_reap else None
        admitted, level, at = take(bucket, level, at, now)
        if admitted:
            in_flight += 1
            mine = offset + self._count_at
            (count,) = COUNT.unpack_from(memory, mine)
            COUNT.pack_into(memory, mine, count + 1)
        self._store(offset, h, bucket, level, at, in_flight)
        return decision(bucket, level, admitted=admitted), None

    def release(self, key: str) -> None:
        h = self._user_hash(key)
        memory = self._memory
        with self._lock:
            offset = self._lookup(self._users, h)
            if offset is None:
                return
            mine = offset + self._count_at
            (count,) = COUNT.unpack_from(memory, mine)
            if count == 0:
                return
            COUNT.pack_into(memory, mine, count - 1)
            (in_flight,) = IN_FLIGHT.unpack_from(memory, offset + IN_FLIGHT_AT)
            IN_FLIGHT.pack_into(memory, offset + IN_FLIGHT_AT, max(0, in_flight - 1))

    def reserve(self, key: str, bucket: Bucket, *, now: int) -> Decision:
        h = self._failure_hash(key)
        with self._lock:
            offset = self._slot(self._failures, h, bucket, now)
            if offset is None:
                offset = self._evict(h, bucket, now)
            _, level, at, _, _ = SLOT.unpack_from(self._memory, offset)
            admitted, level, at = take(bucket, level, at, now)
            self._store(offset, h, bucket, level, at)
        return decision(bucket, level, admitted=admitted)

    def refund(self, key: str, bucket: Bucket, *, now: int) -> None:
        h = self._failure_hash(key)
        with self._lock:
            offset = self._lookup(self._failures, h)
            if offset is None:
                # Forgotten since (see _evict): the key starts with a full bucket anyway.
                return
            _, level, at, _, _ = SLOT.unpack_from(self._memory, offset)
            self._store(offset, h, bucket, *give_back(bucket, level, at, now))

    def _store(
        self, offset: int, h: int, bucket: Bucket, level: int, at: int, in_flight: int = 0
    ) -> None:
        """A slot's bucket at `level` since `at`, with when it is full again."""
        SLOT.pack_into(self._memory, offset, h, level, at, full_at(bucket, level, at), in_flight)

    def _slot(self, region: Region, h: int, bucket: Bucket, now: int) -> int | None:
        """The key's slot, claimed (with a full bucket) when it has none; None when every slot
        of its window is in use."""
        found, free = self._find(region, h, now)
        if found is not None or free is None:
            return found
        return self._claim(region, free, h, bucket, now)

    def _claim(self, region: Region, offset: int, h: int, bucket: Bucket, now: int) -> int:
        size = region.slot_size
        self._memory[offset : offset + size] = bytes(size)
        SLOT.pack_into(self._memory, offset, h, bucket.capacity, now, now, 0)
        return offset

    def _window(self, region: Region, h: int) -> Iterator[int]:
        """The offsets of the PROBES slots a key may use."""
        first_slot, slots, size = region
        first = h % slots
        for probe in range(PROBES):
            yield first_slot + (first + probe) % slots * size

    def _lookup(self, region: Region, h: int) -> int | None:
        memory = self._memory
        for offset in self._window(region, h):
            if KEY.unpack_from(memory, offset)[0] == h:
                return offset
        return None

    def _find(self, region: Region, h: int, now: int) -> tuple[int | None, int | None]:
        """The key's slot if it has one, else the first slot of its window free at `now`."""
        memory = self._memory
        free = None
        for offset in self._window(region, h):
            key: int = KEY.unpack_from(memory, offset)[0]
            if key == h:
                return offset, None
            if free is None:
                _, _, _, full, in_flight = SLOT.unpack_from(memory, offset)
                if key == 0 or (in_flight == 0 and now >= full):
                    free = offset
        return None, free

    def _fail_open(self, bucket: Bucket) -> Decision:
        if not self._warned_full:
            self._warned_full = True
            log.warning("rate limit table full: API users without a slot are not limited")
        return decision(bucket, bucket.capacity, admitted=True)

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
            self._window(region, h), key=lambda offset: SLOT.unpack_from(memory, offset)[3]
        )
        return self._claim(region, soonest, h, bucket, now)
