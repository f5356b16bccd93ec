"""Fresh databases for the suite: one per backend per run, emptied before every test.

PostgreSQL is required: when it cannot be reached the run fails loudly. Set
CASEDESK_TEST_BACKENDS=sqlite to run on SQLite alone on a machine without it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from casedesk.schema import migrate
from casedesk.storage.database import sync_url

BACKENDS = tuple(
    name.strip()
    for name in os.environ.get("CASEDESK_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if name.strip()
)
POSTGRES_ADMIN_URL = os.environ.get(
    "CASEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# Children first, so deleting never trips a foreign key.
TABLES = (
    "idempotency_keys",
    "case_scrolls",
    "case_refs",
    "cases",
    "case_counters",
    "case_settings",
    "api_users",
    "instance_secrets",
    "tenants",
)


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is required by the suite but {POSTGRES_ADMIN_URL} is unreachable: "
            f"{error}. Start it, or set CASEDESK_TEST_BACKENDS=sqlite to leave it out.",
            pytrace=False,
        )


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A new, migrated database; dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'casedesk-{uuid.uuid4().hex[:8]}.db'}"
        migrate.upgrade(url)
        yield url
        return
    name = f"casedesk_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with _admin_connection() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def empty(url: str) -> None:
    """Delete every row and put back what a new installation has: the default tenant."""
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
            else:
                for table in TABLES:
                    connection.exec_driver_sql(f"DELETE FROM {table}")
                connection.exec_driver_sql("INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')")
            connection.exec_driver_sql(
                "INSERT INTO tenants (id, name, created) VALUES (1, 'default', CURRENT_TIMESTAMP)"
            )
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('tenants', 'id'), 1)"
                )
    finally:
        engine.dispose()
