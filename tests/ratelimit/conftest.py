"""Rate limiting never touches the database: its tests run on SQLite alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casedesk.ratelimit.shared_file import create_file
from casedesk.ratelimit.slots import SlotTable
from tests import databases


@pytest.fixture(scope="session")
def backend_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with databases.fresh_database("sqlite", tmp_path_factory.mktemp("sqlite")) as url:
        yield "sqlite", url


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A shared table's file, with room for 8 workers."""
    table = tmp_path / "limits"
    create_file(table, slots=64, workers=8)
    return table


@pytest.fixture
def table(path: Path) -> Iterator[SlotTable]:
    opened = SlotTable.open(path)
    yield opened
    opened.close()
