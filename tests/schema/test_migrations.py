"""The migrations build exactly the schema the SQLAlchemy models describe, on every backend."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql

from casedesk.schema import migrate
from casedesk.schema.tables import load_all
from casedesk.storage.database import Base, sync_url
from tests import databases

# Built by raw SQL in 0001 for text search, so no model describes them. Named one by one, so
# that any other difference still fails the comparison:
# - SQLite: the FTS5 virtual table cases_fts and the shadow tables FTS5 creates for it.
# - PostgreSQL: the trigram GIN index over the searchable text.
SQLITE_FTS_TABLES = {
    "cases_fts",
    "cases_fts_data",
    "cases_fts_idx",
    "cases_fts_docsize",
    "cases_fts_config",
}
POSTGRES_TRIGRAM_INDEX = "ix_cases_search_document"
# - PostgreSQL: the DESC NULLS LAST sort indexes of 0004 (SQLite needs none of them).
POSTGRES_ONLY_INDEXES = {
    POSTGRES_TRIGRAM_INDEX,
    "ix_cases_customer_name_desc",
    "ix_cases_assigned_to_name_desc",
    "ix_cases_follow_up_date_desc",
}
# lower(column) indexes: SQLite cannot reflect expression indexes, so autogenerate skips them
# there (with a warning) and test_sqlite_has_the_lower_case_sort_indexes checks them instead.
EXPRESSION_INDEXES = {"ix_cases_subject", "ix_cases_customer_name", "ix_cases_assigned_to_name"}
SKIPPED_EXPRESSION_INDEX = "ignore:.*expression-based index"


def _search_structures(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    if type_ == "table":
        return name not in SQLITE_FTS_TABLES
    if type_ == "index":
        return name not in POSTGRES_ONLY_INDEXES
    return True


@pytest.fixture(params=databases.BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"casedesk_migrations_{uuid.uuid4().hex[:12]}"
    with databases._admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            sa.make_url(databases.POSTGRES_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with databases._admin_connection() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)


def schema_differences(url: str) -> list[Any]:
    load_all()
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": _search_structures,
                },
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = _engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def query(url: str, statement: str) -> list[tuple[Any, ...]]:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(statement)]
    finally:
        engine.dispose()


def head() -> str:
    revision = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert revision is not None
    return revision


def test_the_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.mark.filterwarnings(SKIPPED_EXPRESSION_INDEX)
def test_an_empty_database_upgrades_to_exactly_the_models(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert query(empty_url, "SELECT version_num FROM alembic_version") == [(head(),)]
    assert schema_differences(empty_url) == []


def test_every_model_table_is_created(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    load_all()
    assert set(Base.metadata.tables) <= table_names(empty_url)


def test_the_default_tenant_exists_after_upgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert query(empty_url, "SELECT id, name FROM tenants") == [(1, "default")]


def test_upgrading_twice_changes_nothing(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.upgrade(empty_url)
    assert query(empty_url, "SELECT name FROM tenants") == [("default",)]


def test_downgrade_to_base_removes_every_table(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    assert table_names(empty_url) <= {"alembic_version"}


@pytest.mark.filterwarnings(SKIPPED_EXPRESSION_INDEX)
def test_upgrade_after_downgrade_rebuilds_the_same_schema(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    migrate.upgrade(empty_url)
    assert schema_differences(empty_url) == []
    assert query(empty_url, "SELECT name FROM tenants") == [("default",)]


def test_the_search_structures_exist_after_upgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    if empty_url.startswith("sqlite"):
        assert table_names(empty_url) >= SQLITE_FTS_TABLES
        triggers = query(empty_url, "SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert {name for (name,) in triggers} == {
            "cases_fts_insert",
            "cases_fts_delete",
            "cases_fts_update",
        }
    else:
        definition = query(
            empty_url,
            f"SELECT indexdef FROM pg_indexes WHERE indexname = '{POSTGRES_TRIGRAM_INDEX}'",
        )
        assert len(definition) == 1
        assert "gin_trgm_ops" in definition[0][0]


def test_the_lower_case_sort_indexes_exist(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    if empty_url.startswith("sqlite"):
        rows = query(empty_url, "SELECT name, sql FROM sqlite_master WHERE type = 'index'")
    else:
        rows = query(empty_url, "SELECT indexname, indexdef FROM pg_indexes")
    definitions = {name: definition for name, definition in rows if name in EXPRESSION_INDEXES}
    assert set(definitions) == EXPRESSION_INDEXES
    for name, definition in definitions.items():
        # SQLite keeps the text as written; PostgreSQL shows lower((subject)::text).
        column = name.removeprefix("ix_cases_")
        assert re.search(rf"lower\(\(?{column}\b", definition), definition
