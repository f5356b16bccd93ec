"""Engines, sessions and the per-request transaction.

SQLite runs in WAL mode with foreign keys on; a write transaction starts with
BEGIN IMMEDIATE so that concurrent writers queue on the lock instead of failing
half-way. PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from casedesk.config import database_backend
from casedesk.errors import Unavailable
from casedesk.http.guards import COMMITTING
from casedesk.storage import sqlite_checkpoint, sqlite_inline

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_SECONDS = 30
_WRITE_OPTION = "casedesk_write"
# The execution option that marks a search statement: it runs under the search time limit.
SEARCH_STATEMENT = "casedesk_search"
_ARMED = "casedesk_search_armed"
# How often (in SQLite VM instructions, well under a millisecond) a search on an inline
# connection looks at its deadline.
_PROGRESS_STEPS = 10_000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sync_url(url: str) -> str:
    """The URL for a blocking driver (migrations, CLI): pysqlite or psycopg."""
    parsed = make_url(url)
    if database_backend(url) == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def async_url(url: str) -> str:
    parsed = make_url(url)
    if database_backend(url) == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def configure_sqlite(
    sync_engine: Any,
    *,
    busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_SECONDS,
    auto_checkpoints: bool = True,
) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for write transactions.
    Without `auto_checkpoints`, commits leave the log to sqlite_checkpoint.py."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}")
        if not auto_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute(
                f"PRAGMA journal_size_limit={sqlite_checkpoint.JOURNAL_SIZE_LIMIT_BYTES}"
            )
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_engine(url: str, *, search_timeout_s: float, inline: bool = True) -> AsyncEngine:
    """An async engine. On SQLite, `inline` runs each call in the event loop's thread (fast
    for short statements); without it, calls go to aiosqlite's threads (for long queries).
    Statements marked SEARCH_STATEMENT are stopped after `search_timeout_s`."""
    if database_backend(url) == "sqlite":
        # Opening a SQLite connection (pragmas, schema parse) costs more than a query: keep
        # enough of them that requests in flight never need a new one.
        options: dict[str, Any] = {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            "pool_size": 20,
            "max_overflow": 20,
        }
        if inline:
            database = make_url(url).database or ""
            options = {
                "async_creator": sqlite_inline.connector(
                    database, timeout=SQLITE_BUSY_TIMEOUT_SECONDS
                ),
                "pool_size": 20,
                "max_overflow": 20,
            }
        engine = create_async_engine(
            async_url(url),
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            hide_parameters=True,
            **options,
        )
        # Inline connections wait for locks in sqlite_inline, off SQLite's busy handler, and
        # leave checkpoints to a thread (sqlite_checkpoint.py).
        configure_sqlite(
            engine.sync_engine,
            busy_timeout_s=0 if inline else SQLITE_BUSY_TIMEOUT_SECONDS,
            auto_checkpoints=not inline,
        )
        limit_searches(engine.sync_engine, search_timeout_s)
        return engine
    engine = create_async_engine(
        async_url(url),
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        hide_parameters=True,
        # Enough kept open for the requests a worker has in flight: a connection opened past
        # pool_size is closed on return, and PostgreSQL forks a process for each new one.
        pool_size=16,
        max_overflow=8,
        # No ping before each checkout: it cost a round trip per request (~15 % of a PATCH's
        # CPU). A connection that died under the pool fails its next request with a 503 and
        # Retry-After (problems.database_unavailable) and is replaced.
        pool_pre_ping=False,
    )
    limit_searches(engine.sync_engine, search_timeout_s)
    return engine


class _Deadline:
    """A search statement's time limit, armed just before it runs and disarmed after."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.reached = False
        self.disarm: Callable[[], object] = lambda: None

    def passed(self) -> int:
        self.reached = self.reached or time.monotonic() - self.started >= self.seconds
        return int(self.reached)


async def _interrupt(driver: Any) -> None:
    """Stop the statement an aiosqlite connection is running in its thread. aiosqlite's
    interrupt() calls sqlite3's at once instead of queueing behind that statement, as its other
    calls do; an inline connection has none, and needs none: its statements hold the loop."""
    interrupt = getattr(driver, "interrupt", None)
    if interrupt is not None:
        await interrupt()


async def _interrupt_at(deadline: _Deadline, driver: Any) -> None:
    await asyncio.sleep(deadline.seconds)
    deadline.reached = True
    await _interrupt(driver)


def limit_searches(sync_engine: Any, seconds: float) -> None:
    """Stop a search statement that runs past `seconds` and raise Unavailable instead:
    PostgreSQL by SET LOCAL statement_timeout, set back when the statement ends; SQLite by
    sqlite3_interrupt from a task on the event loop (aiosqlite's threads), or, where the
    statement holds the loop itself (inline connections), by a progress handler that watches
    the deadline."""
    backend = sync_engine.dialect.name

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _arm(
        conn: Connection, cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is None or not context.execution_options.get(SEARCH_STATEMENT):
            return
        deadline = _Deadline(seconds)
        conn.info[_ARMED] = deadline
        driver = conn.connection.driver_connection
        if backend == "postgresql":
            cursor.execute(f"SET LOCAL statement_timeout = {max(1, round(seconds * 1000))}")
            deadline.disarm = lambda: _unlimit_postgresql(conn)
        elif isinstance(driver, sqlite_inline.InlineConnection):
            driver.set_progress_handler(deadline.passed, _PROGRESS_STEPS)
            deadline.disarm = lambda: driver.set_progress_handler(None, 0)
        else:
            # Cancelled with its statement's end: a task cancelled before it runs never runs,
            # so it cannot stop the connection's next statement, another request's perhaps.
            deadline.disarm = (
                asyncio.get_running_loop().create_task(_interrupt_at(deadline, driver)).cancel
            )

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _disarm(conn: Connection, *_: Any) -> None:
        deadline = conn.info.pop(_ARMED, None)
        if deadline is not None:
            deadline.disarm()

    @event.listens_for(sync_engine, "handle_error")
    def _stopped(context: ExceptionContext) -> None:
        conn = context.connection
        deadline = conn.info.pop(_ARMED, None) if conn is not None else None
        if deadline is None:
            return
        cancelled = isinstance(context.original_exception, psycopg.errors.QueryCanceled)
        if backend != "postgresql":
            # On PostgreSQL the failed statement aborted the transaction, and so its
            # statement_timeout: the rollback that must follow sets it back.
            deadline.disarm()
        if deadline.reached or (cancelled and deadline.passed()):
            raise Unavailable(
                f"The search did not finish within {seconds:g} seconds and was stopped. "
                "Narrow it: more or longer words, or more filters."
            ) from context.original_exception


def _unlimit_postgresql(conn: Connection) -> None:
    """The search limit holds for the search statement alone, not the rest of its transaction
    (a scroll's UPDATE and COMMIT follow its search): back to the session's statement_timeout,
    which casedesk never sets (the server's, role's or connection's own)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute("SET LOCAL statement_timeout = DEFAULT")
    finally:
        cursor.close()


@dataclass
class Database:
    engine: AsyncEngine
    readers: async_sessionmaker[AsyncSession]
    writers: async_sessionmaker[AsyncSession]
    # Long reads (search): on SQLite they run in aiosqlite's threads, off the event loop.
    searchers: async_sessionmaker[AsyncSession]
    search_engine: AsyncEngine
    # SQLite writers of one process queue here, not inside SQLite's busy wait, which would
    # hold the event loop while the transaction it waits for needs that loop to finish.
    write_turn: asyncio.Lock | None

    @classmethod
    def connect(cls, url: str, *, search_timeout_s: float) -> Database:
        """Engines and session makers for `url`; `search_timeout_s` is
        Settings.search_timeout_seconds, which Settings holds below the request limit."""
        engine = create_engine(url, search_timeout_s=search_timeout_s)
        writer_engine = engine.execution_options(**{_WRITE_OPTION: True})
        sqlite = database_backend(url) == "sqlite"
        search_engine = (
            create_engine(url, inline=False, search_timeout_s=search_timeout_s)
            if sqlite
            else engine
        )
        return cls(
            engine=engine,
            readers=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
            writers=async_sessionmaker(writer_engine, expire_on_commit=False, autoflush=False),
            searchers=async_sessionmaker(search_engine, expire_on_commit=False, autoflush=False),
            search_engine=search_engine,
            write_turn=asyncio.Lock() if sqlite else None,
        )

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction of its own, outside a request's, queued like a request's."""
        async with _turn(self.write_turn), self.writers() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.search_engine is not self.engine:
            await self.search_engine.dispose()


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).readers() as session:
        yield session


async def _search_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).searchers() as session:
        try:
            yield session
        except asyncio.CancelledError:
            await interrupt_sqlite(session)
            raise


async def interrupt_sqlite(session: AsyncSession) -> None:
    """Stop the statement a cancelled request left running in aiosqlite's thread: it would
    otherwise run to its end, holding its connection and, in WAL mode, an old snapshot that
    keeps checkpoints from catching up. (psycopg cancels a PostgreSQL query itself.)"""
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await _interrupt(raw.driver_connection)


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    db = database(request)
    async with _turn(db.write_turn), db.writers() as session, session.begin():
        yield session
        # The commit follows: a cancellation from here on could land after it, so the time
        # limit lets the request finish instead.
        request.scope[COMMITTING] = True


@asynccontextmanager
async def _turn(lock: asyncio.Lock | None) -> AsyncIterator[None]:
    if lock is None:
        yield
        return
    async with lock:
        yield


ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
SearchSession = Annotated[AsyncSession, Depends(_search_session, scope="function")]
