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

from casedesk import db
from casedesk.db import create_engine
from casedesk.errors import TooSlow
from casedesk.seeding.loader import sync_engine

CASE_TEXT = "Order arrived damaged, call me on 020 7946 0000"
# Fails on both backends without the server echoing the value, as a unique key would.
FAILING = text("INSERT INTO no_such_table (description) VALUES (:description)")


@pytest.mark.parametrize("inline", [True, False])
def test_a_failed_statement_of_the_app_names_none_of_its_parameters(
    database_url: str, inline: bool
) -> None:
    async def fail() -> str:
        engine = create_engine(database_url, inline=inline)
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


def test_a_cancelled_sqlite_search_stops_its_statement(tmp_path: Path) -> None:
    """SQLite only: psycopg cancels a PostgreSQL query itself when its task is cancelled."""

    async def run() -> None:
        database = db.Database.connect(f"sqlite:///{tmp_path / 'search.db'}")
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
def test_a_search_statement_past_the_search_time_limit_is_stopped_as_too_slow(
    database_url: str, inline: bool
) -> None:
    async def run() -> float:
        engine = create_engine(database_url, inline=inline, search_timeout_s=0.3)
        try:
            async with engine.connect() as connection:
                started = time.monotonic()
                with pytest.raises(TooSlow):
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
                statement = text("SELECT 1").execution_options(**{db.SEARCH_STATEMENT: True})
                first = (await connection.execute(statement)).scalar_one()
                # The limit is disarmed after each statement: it cannot stop a later one.
                await asyncio.sleep(0.5)
                return int(first + (await connection.execute(text("SELECT 1"))).scalar_one())
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == 2
