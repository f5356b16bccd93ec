"""The bytes of a rate limit table, the same in every process that maps it: a header, an entry
per worker (pid and start time), then the slots of API users, each with an in-flight count per
worker, then the slots of failed token requests."""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from typing import NamedTuple

MAGIC = b"casedrl2"
SALT_BYTES = 16

# magic, user slots, workers, next reap allowed at (ns), failure slots, salt
HEADER = struct.Struct(f"<8sIIqI{SALT_BYTES}s")
NEXT_REAP = struct.Struct("<q")
NEXT_REAP_AT = 16
HEADER_SIZE = 64
WORKER = struct.Struct("<QQ")  # pid, start ticks
SLOT = struct.Struct("<QqqqI")  # key hash, level, its time, full at, in flight (all workers)
KEY = struct.Struct("<Q")
IN_FLIGHT = struct.Struct("<I")
IN_FLIGHT_AT = 32
SLOT_HEAD = 40
COUNT = struct.Struct("<H")  # in flight, one per worker


class Region(NamedTuple):
    first: int  # offset of its first slot
    slots: int
    slot_size: int

    def offsets(self) -> Iterator[int]:
        """Where each of its slots starts."""
        return iter(range(self.first, self.first + self.slots * self.slot_size, self.slot_size))


def slot_size(workers: int) -> int:
    return (SLOT_HEAD + COUNT.size * workers + 7) // 8 * 8


def worker_at(index: int) -> int:
    """The offset of the entry of worker `index`."""
    return HEADER_SIZE + index * WORKER.size


def count_at(index: int) -> int:
    """The offset, within a user slot, of worker `index`'s in-flight count."""
    return SLOT_HEAD + COUNT.size * index


def table_size(slots: int, workers: int, failure_slots: int) -> int:
    return worker_at(workers) + slots * slot_size(workers) + failure_slots * slot_size(0)


def format_table(memory: mmap.mmap, *, slots: int, failure_slots: int, workers: int) -> None:
    """Done once, where the table is made: every worker reads the same salt."""
    HEADER.pack_into(memory, 0, MAGIC, slots, workers, 0, failure_slots, os.urandom(SALT_BYTES))
