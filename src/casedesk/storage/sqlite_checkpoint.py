"""WAL checkpoints in a thread of their own, off the event loop.

SQLite copies the write-ahead log back into the database file every 1,000 pages by default,
inside the commit that crosses the mark: with statements running in the event loop's thread
(sqlite_inline.py) that copy, and its fsync, would stall every request of the process. The
server's connections turn automatic checkpoints off and each worker runs this instead: a
PASSIVE checkpoint a few times a second, which never waits for readers or writers.

Under a steady stream of writes a PASSIVE checkpoint is never complete when the next write
begins, so the log never starts over and keeps growing (2.5 GB after one benchmark run at 1M
cases). Past RESTART_ABOVE_BYTES the checkpoint is a RESTART: it waits briefly for the
readers of old frames, so that the next writer starts the log again from the beginning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator

log = logging.getLogger("casedesk")

INTERVAL_S = 0.25
# When a writer starts the log over, SQLite trims the file to this size (a pragma of the
# writing connections: database.configure_sqlite sets it on the server's).
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
RESTART_ABOVE_BYTES = 64 * 1024 * 1024
# How long a RESTART checkpoint may wait for readers and writers before it gives up a turn:
# while it waits it holds the write lock, so writers wait too.
RESTART_WAIT_S = 0.02


def _wal_bytes(database: str) -> int:
    try:
        return os.path.getsize(f"{database}-wal")
    except OSError:
        return 0


def truncate(database: str) -> None:
    """Copy the whole log into the database and empty it: for a server about to start, so
    that its workers never open a log left large by a seed or an earlier run."""
    connection = sqlite3.connect(database, timeout=RESTART_WAIT_S)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        connection.close()


def _run(database: str, interval_s: float, stop: threading.Event) -> None:
    connection = sqlite3.connect(database, timeout=RESTART_WAIT_S)
    try:
        while not stop.wait(interval_s):
            mode = "RESTART" if _wal_bytes(database) > RESTART_ABOVE_BYTES else "PASSIVE"
            try:
                connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
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
