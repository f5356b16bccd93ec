"""Rate limiting never touches the database: its tests run on SQLite alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import databases


@pytest.fixture(scope="session")
def backend_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with databases.fresh_database("sqlite", tmp_path_factory.mktemp("sqlite")) as url:
        yield "sqlite", url
