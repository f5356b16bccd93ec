"""The benchmark database per backend: seeded with `casedesk seed`, or reused when a marker
table says it was seeded to the size asked for."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import sqlalchemy as sa
from psycopg import sql
from rich.console import Console

from bench.options import Options
from bench.server import CASEDESK, casedesk_env
from bench.wrk import BenchError
from casedesk.storage.database import configure_sqlite, sync_url

MARKER = "bench_dataset"
TENANT = "default"


@dataclass(frozen=True)
class Dataset:
    backend: str
    url: str
    seeded: int
    total: int
    tenant_id: int
    reused: bool


def engine_for(url: str) -> sa.Engine:
    """A plain blocking engine, configured as the server's (SQLite pragmas, orjson)."""
    engine = sa.create_engine(
        sync_url(url), poolclass=sa.pool.NullPool, json_deserializer=orjson.loads
    )
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    return engine


def database_url(backend: str, options: Options) -> str:
    if backend == "sqlite":
        return f"sqlite:///{(options.data_dir / f'sqlite-{options.cases}.db').resolve()}"
    url = sa.make_url(options.postgres_url).set(database=options.postgres_database)
    return url.render_as_string(hide_password=False)


def _marker(url: str) -> tuple[int, int] | None:
    """(cases seeded, last seeded pk) when the database holds a finished bench seed."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(MARKER):
                return None
            row = connection.execute(sa.text(f"SELECT cases, last_pk FROM {MARKER}")).first()
            return (int(row[0]), int(row[1])) if row else None
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()


def _postgres_admin(options: Options) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(options.postgres_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise BenchError(
            f"PostgreSQL at {options.postgres_url} is unreachable ({error}); set "
            "CASEDESK_BENCH_POSTGRES_URL or leave it out with --backends sqlite."
        ) from None


def _postgres_exists(options: Options) -> bool:
    with _postgres_admin(options) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (options.postgres_database,)
        ).fetchone()
    return found is not None


def _recreate(backend: str, options: Options) -> None:
    if backend == "sqlite":
        options.data_dir.mkdir(parents=True, exist_ok=True)
        path = options.data_dir / f"sqlite-{options.cases}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = sql.Identifier(options.postgres_database)
    with _postgres_admin(options) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _seed(url: str, options: Options) -> None:
    done = subprocess.run(
        [str(CASEDESK), "seed", "--cases", str(options.cases), "--seed", str(options.seed)],
        env=casedesk_env(url),
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"casedesk seed failed with exit code {done.returncode}")


def _write_marker(url: str, cases: int) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(f"CREATE TABLE {MARKER} (cases INTEGER, last_pk BIGINT, seeded TEXT)")
            )
            last_pk = connection.execute(sa.text("SELECT max(pk) FROM cases")).scalar_one()
            connection.execute(
                sa.text(f"INSERT INTO {MARKER} VALUES (:cases, :last_pk, :seeded)"),
                {"cases": cases, "last_pk": last_pk, "seeded": datetime.now(UTC).isoformat()},
            )
    finally:
        engine.dispose()


def _forget_runs(url: str, last_pk: int) -> None:
    """Delete the cases earlier runs created, so every run starts from the same data."""
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            params = {"last_pk": last_pk}
            connection.execute(sa.text("DELETE FROM case_refs WHERE case_pk > :last_pk"), params)
            connection.execute(sa.text("DELETE FROM cases WHERE pk > :last_pk"), params)
    finally:
        engine.dispose()


def _facts(url: str) -> tuple[int, int]:
    """The tenant's id and how many cases it has now."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            tenant_id = connection.execute(
                sa.text("SELECT id FROM tenants WHERE name = :name"), {"name": TENANT}
            ).scalar_one()
            total = connection.execute(
                sa.text("SELECT count(*) FROM cases WHERE tenant_id = :tenant"),
                {"tenant": tenant_id},
            ).scalar_one()
            return int(tenant_id), int(total)
    finally:
        engine.dispose()


def prepare(backend: str, options: Options, console: Console) -> Dataset:
    url = database_url(backend, options)
    exists = (
        (options.data_dir / f"sqlite-{options.cases}.db").exists()
        if backend == "sqlite"
        else _postgres_exists(options)
    )
    marker = _marker(url) if options.reuse and exists else None
    reused = marker is not None and marker[0] == options.cases
    if reused and marker is not None:
        console.print(f"{backend}: reusing the database seeded with {marker[0]:,} cases")
        _forget_runs(url, marker[1])
    else:
        if options.reuse:
            console.print(f"{backend}: no database seeded with {options.cases:,} cases to reuse")
        console.print(f"{backend}: seeding {options.cases:,} cases")
        _recreate(backend, options)
        _seed(url, options)
        _write_marker(url, options.cases)
    tenant_id, total = _facts(url)
    return Dataset(backend, url, options.cases, total, tenant_id, reused)
