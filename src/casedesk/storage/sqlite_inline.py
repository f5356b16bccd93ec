"""An aiosqlite-shaped face on the plain sqlite3 driver that runs each call at once, in the
event loop's own thread.

aiosqlite hands every call to a thread and wakes the loop when it is done; for the
sub-millisecond reads and writes of a case that round trip costs more than the query
(measured: GET by id at 0.07 x the empty endpoint through aiosqlite). Long queries such as
searches still go through aiosqlite, on their own engine (see database.py), so they never stall
the loop.

A statement that finds the database locked (another process holds the write lock) must
not wait inside SQLite's busy handler: that sleeps in the loop's thread and freezes every
request of the process (measured with two workers on 20k cases: PATCH at 346 req/s, p99
326 ms). These connections have no busy timeout; a locked statement is retried after an
asyncio sleep instead, so the loop serves other requests while it waits.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self, TypeVar

T = TypeVar("T")
_FIRST_PAUSE_S = 0.0005
_LONGEST_PAUSE_S = 0.002


def _busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


async def patiently(patience_s: float, run: Callable[..., T], *args: Any) -> T:
    """run(*args), retried while the database is locked, for up to `patience_s` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience_s
    pause = _FIRST_PAUSE_S
    while True:
        try:
            return run(*args)
        except sqlite3.OperationalError as error:
            if not _busy(error) or loop.time() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE_S)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor, timeout: float) -> None:
        self._cursor = cursor
        self._timeout = timeout

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Self:
        await patiently(self._timeout, self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Self:
        rows = list(parameters)
        await patiently(self._timeout, self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _ImmediateQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set isolation_level."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection:
    """The aiosqlite.Connection that SQLAlchemy's aiosqlite dialect expects, on a plain sqlite3
    connection (`sqlite`)."""

    def __init__(self, sqlite: sqlite3.Connection, timeout: float) -> None:
        self._sqlite = sqlite
        self._timeout = timeout
        self._open = True
        self._tx = _ImmediateQueue()

    # SQLAlchemy's dialect reads two private attributes of aiosqlite.Connection: `_conn`, the
    # sqlite3 connection, and `_connection`, the same until it is closed, then None.
    @property
    def _conn(self) -> sqlite3.Connection:
        return self._sqlite

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._sqlite if self._open else None

    @property
    def isolation_level(self) -> str | None:
        return self._sqlite.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._sqlite.cursor(), self._timeout)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await patiently(self._timeout, self._sqlite.commit)

    async def rollback(self) -> None:
        self._sqlite.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._sqlite.create_function(*args, **kwargs)

    def set_progress_handler(self, handler: Callable[[], int | None] | None, steps: int) -> None:
        """Call `handler` every `steps` VM instructions of a statement; a true answer stops
        the statement (an interrupt from another thread cannot reach one that holds the loop)."""
        self._sqlite.set_progress_handler(handler, steps)

    async def close(self) -> None:
        """aiosqlite's close, which SQLAlchemy awaits to close a connection."""
        self.stop()

    def stop(self) -> None:
        """aiosqlite's stop, which SQLAlchemy calls to terminate a connection without awaiting:
        here the same as close, as no thread is left to stop."""
        if self._open:
            self._open = False
            self._sqlite.close()


def connector(database: str, *, timeout: float) -> Callable[[], Any]:
    """An `async_creator` for SQLAlchemy's aiosqlite dialect: connections that wait for a
    lock for up to `timeout` seconds without blocking the loop."""

    async def connect() -> InlineConnection:
        sqlite = sqlite3.connect(database, timeout=0, check_same_thread=False)
        return InlineConnection(sqlite, timeout)

    return connect
