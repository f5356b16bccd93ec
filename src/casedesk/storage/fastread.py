"""Single-row reads on the hottest path (the acting user, a case by id), straight on the
driver: SQLAlchemy's session costs more than these primary-key reads themselves.

SQL is written with %s placeholders; the SQLite reader turns them into ?. Each read is its
own statement in autocommit mode, so it sees everything committed before it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any, Protocol

import psycopg
from sqlalchemy.engine import make_url

from casedesk.config import database_backend
from casedesk.storage.database import SQLITE_BUSY_TIMEOUT_SECONDS

POSTGRES_CONNECTIONS = 8
SQLITE_READER_CACHE_KIB = 16 * 1024


class FastReader(Protocol):
    backend: str

    async def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None: ...

    async def close(self) -> None: ...


class SqliteReader:
    """One read-only connection per process, used in the event loop's thread: a
    primary-key read takes microseconds, less than any hand-off to another thread."""

    backend = "sqlite"

    def __init__(self, database: str) -> None:
        self._database = database
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._database,
            timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA query_only=ON")
        connection.execute(f"PRAGMA cache_size=-{SQLITE_READER_CACHE_KIB}")
        return connection

    async def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self._connection is None:
            self._connection = self._connect()
        row: tuple[Any, ...] | None = self._connection.execute(
            sql.replace("%s", "?"), params
        ).fetchone()
        return row

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresReader:
    """A few autocommit psycopg connections, handed out in turn. Kept by hand rather than by
    psycopg_pool, which measured slower for these reads (tools/measure_fastread.py, 20 rounds
    of 2,000 reads, interleaved: 1.02 x the time one at a time, 1.45 x with 16 in flight)."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        self._conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self._opened = 0

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        if self._idle.empty() and self._opened < POSTGRES_CONNECTIONS:
            self._opened += 1
            try:
                return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            except BaseException:
                self._opened -= 1
                raise
        return await self._idle.get()

    async def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        connection = await self._take()
        try:
            cursor = await connection.execute(sql, params, prepare=True)
            row: tuple[Any, ...] | None = await cursor.fetchone()
        except BaseException:
            self._opened -= 1
            await connection.close()
            raise
        self._idle.put_nowait(connection)
        return row

    async def close(self) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()
        self._opened = 0


def fast_reader(url: str) -> FastReader:
    if database_backend(url) == "sqlite":
        return SqliteReader(make_url(url).database or "")
    return PostgresReader(url)
