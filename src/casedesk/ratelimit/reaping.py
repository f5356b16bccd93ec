"""The workers of one rate limit table, and what a dead one held.

Each worker registers by pid and start time, and each user slot counts the requests in flight
per worker as well as in total, so that the counts of a worker that died mid-request are
dropped, not kept forever: a dead worker's column is cleared when a new worker registers, and
at most once a second (across all workers) when a key is at its concurrency limit. Which
workers are alive is read from /proc outside the table's lock, which every other worker would
otherwise wait on.
"""

from __future__ import annotations

import mmap
import os
from contextlib import AbstractContextManager
from typing import NamedTuple

from casedesk.ratelimit.bucket import NS
from casedesk.ratelimit.layout import (
    COUNT,
    IN_FLIGHT,
    IN_FLIGHT_AT,
    NEXT_REAP,
    NEXT_REAP_AT,
    WORKER,
    Region,
    count_at,
    worker_at,
)
from casedesk.ratelimit.processes import is_alive, start_ticks

REAP_INTERVAL_NS = NS


class Worker(NamedTuple):
    entry: int  # its place among the worker entries
    pid: int
    started: int  # clock ticks since boot


class Workers:
    """The worker entries of a table, and the users' in-flight counts that each one holds."""

    def __init__(
        self,
        memory: mmap.mmap,
        lock: AbstractContextManager[object],
        *,
        capacity: int,
        users: Region,
    ) -> None:
        self._memory = memory
        self._lock = lock
        self._capacity = capacity
        self._users = users
        self.index = -1

    def register(self) -> int:
        """An entry for this process, after clearing those of dead workers: its index."""
        pid = os.getpid()
        started = start_ticks(pid)
        with self._lock:
            others = self._others()
        dead = _dead(others)
        with self._lock:
            self._clear(dead)
            for index in range(self._capacity):
                if WORKER.unpack_from(self._memory, worker_at(index))[0] == 0:
                    WORKER.pack_into(self._memory, worker_at(index), pid, started or 0)
                    self.index = index
                    return index
        raise RuntimeError(f"the rate limit table has room for {self._capacity} workers at most")

    def leave(self) -> None:
        """Free this worker's entry (its counts are zero by now)."""
        with self._lock:
            self._clear_worker(self.index)

    def due(self, now: int) -> list[Worker] | None:
        """The workers to look at for dead ones, at most once a second across all workers;
        called with the lock held."""
        (next_reap,) = NEXT_REAP.unpack_from(self._memory, NEXT_REAP_AT)
        if now < next_reap:
            return None
        NEXT_REAP.pack_into(self._memory, NEXT_REAP_AT, now + REAP_INTERVAL_NS)
        return self._others()

    def reap(self, workers: list[Worker]) -> bool:
        """Clear what the dead among `workers` held; called without the lock held. Whether any
        was dead."""
        dead = _dead(workers)
        if dead:
            with self._lock:
                self._clear(dead)
        return bool(dead)

    def _others(self) -> list[Worker]:
        """Every other registered worker."""
        workers: list[Worker] = []
        for index in range(self._capacity):
            pid, started = WORKER.unpack_from(self._memory, worker_at(index))
            if pid != 0 and index != self.index:
                workers.append(Worker(index, pid, started))
        return workers

    def _clear(self, dead: list[Worker]) -> None:
        """Drop what these dead workers held, unless their entry was cleared or reused since."""
        for index, pid, started in dead:
            if WORKER.unpack_from(self._memory, worker_at(index)) == (pid, started):
                self._clear_worker(index)

    def _clear_worker(self, index: int) -> None:
        memory, mine = self._memory, count_at(index)
        for offset in self._users.offsets():
            (count,) = COUNT.unpack_from(memory, offset + mine)
            if count:
                (in_flight,) = IN_FLIGHT.unpack_from(memory, offset + IN_FLIGHT_AT)
                IN_FLIGHT.pack_into(memory, offset + IN_FLIGHT_AT, max(0, in_flight - count))
                COUNT.pack_into(memory, offset + mine, 0)
        WORKER.pack_into(memory, worker_at(index), 0, 0)


def _dead(workers: list[Worker]) -> list[Worker]:
    """Reads /proc: called without the lock held."""
    return [worker for worker in workers if not is_alive(worker.pid, worker.started)]
