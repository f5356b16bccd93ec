"""Engines never put a statement's parameters (a case's text) in its error message, which is
logged with the traceback of a failed request."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from casedesk.db import create_engine
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
