"""WAL checkpoints in a thread of their own, off the event loop.

SQLite copies the write-ahead log back into the database file every 1,000 pages by default,
inside the commit that crosses the mark: with statements running in the event loop's thread
(sqlite_inline.py) that copy, and its fsync, would stall every request of the process. The
server's connections turn automatic checkpoints off and each worker runs this instead: a
PASSIVE checkpoint a few times a second, which never waits for readers or writers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator

log = logging.getLogger("casedesk")

INTERVAL_S = 0.25
# After a checkpoint resets the log, SQLite truncates the file to this size.
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def _run(database: str, interval_s: float, stop: threading.Event) -> None:
    connection = sqlite3.connect(database, timeout=0)
    try:
        connection.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}")
        while not stop.wait(interval_s):
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.OperationalError as error:
                # Another worker's checkpoint is running: the next turn catches up.
                log.debug("WAL checkpoint skipped: %s", error)
    finally:
        connection.close()


@contextlib.asynccontextmanager
async def checkpoints(database: str, interval_s: float = INTERVAL_S) -> AsyncIterator[None]:
    """Checkpoint `database` from a thread of its own for as long as the block lasts."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_run, args=(database, interval_s, stop), name="sqlite-checkpoints", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)
