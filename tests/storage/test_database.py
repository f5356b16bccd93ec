"""Engines never put a statement's parameters (a case's text) in its error message, which is
logged with the traceback of a failed request; and a search cut off by the request time
limit stops its SQLite statement instead of leaving it to run on in aiosqlite's thread."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from casedesk.config import DEFAULT_SEARCH_TIMEOUT_SECONDS
from casedesk.errors import Unavailable
from casedesk.seeding.loader import sync_engine
from casedesk.storage import database as db
from casedesk.storage.database import create_engine
from tests.databases import BACKENDS, POSTGRES_ADMIN_URL

CASE_TEXT = "Order arrived damaged, call me on 020 7946 0000"
# Fails on both backends without the server echoing the value, as a unique key would.
FAILING = text("INSERT INTO no_such_table (description) VALUES (:description)")


@pytest.mark.parametrize("inline", [True, False])
def test_a_failed_statement_of_the_app_names_none_of_its_parameters(
    database_url: str, inline: bool
) -> None:
    async def fail() -> str:
        engine = create_engine(
            database_url, inline=inline, search_timeout_s=DEFAULT_SEARCH_TIMEOUT_SECONDS
        )
        try:
            async with engine.connect() as connection:
                with pytest.raises(DBAPIError) as caught:
                    await connection.execute(FAILING, {"description": CASE_TEXT})
            return str(caught.value)
        finally:
            await engine.dispose()

    message = asyncio.run(fail())

    assert "no_such_table" in message
    assert CASE_TEXT not in message


def test_a_failed_statement_of_the_loader_names_none_of_its_parameters(
    database_url: str,
) -> None:
    engine = sync_engine(database_url)
    try:
        with engine.connect() as connection, pytest.raises(DBAPIError) as caught:
            connection.execute(FAILING, {"description": CASE_TEXT})
    finally:
        engine.dispose()

    assert "no_such_table" in str(caught.value)
    assert CASE_TEXT not in str(caught.value)


# Counts far enough to run for minutes if nothing stops it.
ENDLESS = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) "
    "SELECT count(*) FROM c"
)
SEARCH_ONE = text("SELECT 1").execution_options(**{db.SEARCH_STATEMENT: True})
# Each runs for about a second: past a 0.3 s search limit, were it still in force.
SLOW = {
    "postgresql": "SELECT pg_sleep(1)",
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
        "SELECT count(*) FROM c"
    ),
}


def test_a_cancelled_sqlite_search_stops_its_statement(tmp_path: Path) -> None:
    """SQLite only: psycopg cancels a PostgreSQL query itself when its task is cancelled."""

    async def run() -> None:
        database = db.Database.connect(
            f"sqlite:///{tmp_path / 'search.db'}", search_timeout_s=DEFAULT_SEARCH_TIMEOUT_SECONDS
        )
        request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(db=database)))
        sessions = db._search_session(request)
        session = await anext(sessions)
        query = asyncio.create_task(session.execute(text(ENDLESS)))
        await asyncio.sleep(0.3)
        query.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sessions.athrow(asyncio.CancelledError())
        # Disposing waits for the connection; it is free only if the statement stopped.
        await asyncio.wait_for(database.dispose(), timeout=10)

    asyncio.run(run())


@pytest.mark.parametrize("inline", [True, False])
def test_a_search_statement_past_the_search_time_limit_is_stopped_as_unavailable(
    database_url: str, inline: bool
) -> None:
    async def run() -> float:
        engine = create_engine(database_url, inline=inline, search_timeout_s=0.3)
        try:
            async with engine.connect() as connection:
                started = time.monotonic()
                with pytest.raises(Unavailable):
                    await connection.execute(
                        text(ENDLESS).execution_options(**{db.SEARCH_STATEMENT: True})
                    )
                return time.monotonic() - started
        finally:
            await engine.dispose()

    assert asyncio.run(run()) < 5


@pytest.mark.parametrize("inline", [True, False])
def test_a_search_statement_within_the_search_time_limit_is_answered(
    database_url: str, inline: bool
) -> None:
    async def run() -> int:
        engine = create_engine(database_url, inline=inline, search_timeout_s=0.3)
        try:
            async with engine.connect() as connection:
                return int((await connection.execute(SEARCH_ONE)).scalar_one())
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == 1


@pytest.mark.parametrize("inline", [True, False])
def test_a_statement_after_a_search_in_its_transaction_may_run_past_the_search_limit(
    database_url: str, backend: str, inline: bool
) -> None:
    """As a scroll's UPDATE and COMMIT do after its search, in one write transaction."""

    async def run() -> float:
        engine = create_engine(database_url, inline=inline, search_timeout_s=0.3)
        try:
            async with engine.connect() as connection:
                await connection.execute(SEARCH_ONE)
                started = time.monotonic()
                await connection.execute(text(SLOW[backend]))
                took = time.monotonic() - started
                await connection.commit()
                return took
        finally:
            await engine.dispose()

    assert asyncio.run(run()) > 0.3


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="CASEDESK_TEST_BACKENDS leaves it out")
def test_a_search_on_postgresql_leaves_statement_timeout_as_it_found_it() -> None:
    async def run() -> tuple[str, str]:
        engine = create_engine(POSTGRES_ADMIN_URL, search_timeout_s=0.3)
        try:
            async with engine.connect() as connection:
                show = text("SHOW statement_timeout")
                before = (await connection.execute(show)).scalar_one()
                await connection.execute(SEARCH_ONE)
                return before, (await connection.execute(show)).scalar_one()
        finally:
            await engine.dispose()

    before, after = asyncio.run(run())

    assert after == before
