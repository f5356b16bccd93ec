"""Bulk loading of generated cases straight through the storage layer (not HTTP).

Generation runs in a second process while this one writes, so both cores work. Rows go in
with each backend's bulk path: executemany on SQLite (the trigram index filled per batch
with one INSERT … SELECT), COPY on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from casedesk.case_settings.models import CaseSettingsRow
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules
from casedesk.cases.models import CaseCounterRow
from casedesk.errors import NotFound
from casedesk.seeding import formats
from casedesk.seeding.generator import CaseGenerator
from casedesk.storage.database import configure_sqlite, sync_url
from casedesk.tenants.models import TenantRow

BATCH = 5_000
# A seed of at least this many cases into a database with none drops the secondary indexes
# and builds them after the load (_load_in_bulk).
BULK_FROM = 50_000
BUILD_MEMORY = "256MB"
BULK_GENERATORS = 2
SQLITE_CACHE_KIB = 512 * 1024
FIRST_CASE_NUMBER = 1001

# The migration's FTS5 insert trigger, dropped while a batch fills the index in one statement.
_FTS_TRIGGER = "cases_fts_insert"
_FTS_TRIGGER_SQL = """CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
        INSERT INTO cases_fts(rowid, case_number, subject, description, customer_name)
        VALUES (new.pk, new.case_number, new.subject, new.description, new.customer_name);
    END"""


@dataclass(frozen=True)
class _Chunk:
    seed: int
    index: int
    tenant_id: int
    first_number: int
    count: int
    rules: CaseRules
    backend: str


@dataclass(frozen=True)
class _Prepared:
    count: int
    rows: list[Any]
    refs: list[tuple[int, int, str, str]]


def _prepare(chunk: _Chunk) -> _Prepared:
    generator = CaseGenerator(chunk.seed * 1_000_003 + chunk.index, chunk.rules)
    cases = list(generator.cases(chunk.tenant_id, chunk.first_number, chunk.count))
    rows = (
        formats.copy_lines(cases) if chunk.backend == "postgresql" else formats.sqlite_rows(cases)
    )
    return _Prepared(len(cases), rows, formats.ref_rows(cases))


def sync_engine(database_url: str) -> Engine:
    engine = sa.create_engine(
        sync_url(database_url), poolclass=sa.pool.NullPool, hide_parameters=True
    )
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)

        @sa.event.listens_for(engine, "connect")
        def _big_cache(dbapi_connection: Any, _record: Any) -> None:
            # Index pages of a growing table stay in memory instead of being re-read.
            dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

    return engine


def _tenant(connection: Connection, name: str) -> int:
    tenant_id = connection.execute(
        sa.select(TenantRow.id).where(TenantRow.name == name)
    ).scalar_one_or_none()
    if tenant_id is None:
        raise NotFound(f"Tenant {name!r} does not exist; create it with `casedesk tenants create`.")
    return int(tenant_id)


def _rules(connection: Connection, tenant_id: int) -> CaseRules:
    document = connection.execute(
        sa.select(CaseSettingsRow.document).where(CaseSettingsRow.tenant_id == tenant_id)
    ).scalar_one_or_none()
    return DEFAULT_RULES if document is None else CaseRules.from_document(document)


def _reserve_numbers(connection: Connection, tenant_id: int, count: int) -> int:
    """Take `count` case numbers at once, as concurrent creates would; returns the first."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    last = connection.execute(
        dialect.insert(CaseCounterRow)
        .values(tenant_id=tenant_id, last_number=FIRST_CASE_NUMBER - 1 + count)
        .on_conflict_do_update(
            index_elements=[CaseCounterRow.tenant_id],
            set_={"last_number": CaseCounterRow.last_number + count},
        )
        .returning(CaseCounterRow.last_number)
    ).scalar_one()
    return int(last) - count + 1


def _reserve_pks(connection: Connection, count: int) -> list[int]:
    if connection.dialect.name == "postgresql":
        return list(
            connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('cases', 'pk')) "
                f"FROM generate_series(1, {int(count)})"
            ).scalars()
        )
    # The write lock is held (BEGIN IMMEDIATE), so nobody else takes these rowids.
    top = connection.exec_driver_sql("SELECT coalesce(max(pk), 0) FROM cases").scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def _insert_sqlite(connection: Connection, batch: _Prepared, pks: list[int]) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = ("pk", *formats.COLUMNS)
    cursor.executemany(
        f"INSERT INTO cases ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [(pk, *row) for pk, row in zip(pks, batch.rows, strict=True)],
    )
    cursor.executemany(
        "INSERT INTO case_refs (tenant_id, kind, value, case_pk) VALUES (?, ?, ?, ?)",
        [(tenant, kind, value, pks[index]) for index, tenant, kind, value in batch.refs],
    )
    cursor.execute(
        "INSERT INTO cases_fts(rowid, case_number, subject, description, customer_name) "
        "SELECT pk, case_number, subject, description, customer_name FROM cases "
        "WHERE pk BETWEEN ? AND ?",
        (pks[0], pks[-1]),
    )
    cursor.close()


def _insert_postgresql(connection: Connection, batch: _Prepared, pks: list[int]) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(("pk", *formats.COLUMNS))
    with cursor.copy(f"COPY cases ({columns}) FROM STDIN") as copy:
        copy.write(b"".join(b"%d%s" % (pk, line) for pk, line in zip(pks, batch.rows, strict=True)))
    with cursor.copy("COPY case_refs (tenant_id, kind, value, case_pk) FROM STDIN") as copy:
        for index, tenant, kind, value in batch.refs:
            copy.write_row((tenant, kind, value, pks[index]))
    cursor.close()


def _insert(connection: Connection, batch: _Prepared) -> None:
    pks = _reserve_pks(connection, batch.count)
    if connection.dialect.name == "postgresql":
        # New trigrams wait in the GIN index's pending list and are merged in bulk by the
        # VACUUM that ends the seed, instead of one index insertion per row.
        connection.exec_driver_sql("SET LOCAL gin_pending_list_limit = '256MB'")
        _insert_postgresql(connection, batch, pks)
        return
    connection.exec_driver_sql(f"DROP TRIGGER {_FTS_TRIGGER}")
    _insert_sqlite(connection, batch, pks)
    connection.exec_driver_sql(_FTS_TRIGGER_SQL)


def seed(
    database_url: str,
    *,
    cases: int,
    seed: int = 1,
    tenant: str = "default",
    progress: Callable[[int], None] = lambda done: None,
    indexes_built: Callable[[int, int], None] = lambda done, total: None,
    bulk_from: int = BULK_FROM,
) -> None:
    """Load `cases` generated cases into `tenant`, reporting each loaded batch and, for a
    bulk load (at least `bulk_from` cases into a database with none), each index built
    after it."""
    engine = sync_engine(database_url)
    try:
        with engine.connect().execution_options(casedesk_write=True) as connection:
            backend = connection.dialect.name
            with connection.begin():
                tenant_id = _tenant(connection, tenant)
                rules = _rules(connection, tenant_id)
                first = _reserve_numbers(connection, tenant_id, cases)
                bulk = cases >= bulk_from and _no_cases(connection)
            chunks = [
                _Chunk(seed, i, tenant_id, first + start, min(BATCH, cases - start), rules, backend)
                for i, start in enumerate(range(0, cases, BATCH))
            ]
            if bulk:
                _load_in_bulk(connection, chunks, progress, indexes_built)
            else:
                for batch in _generated(chunks):
                    with connection.begin():
                        _insert(connection, batch)
                    progress(batch.count)
        _tidy(engine)
    finally:
        engine.dispose()


def _no_cases(connection: Connection) -> bool:
    return connection.exec_driver_sql("SELECT 1 FROM cases LIMIT 1").first() is None


def _secondary_indexes(connection: Connection) -> list[tuple[str, str]]:
    """(name, the statement that made it) of each index on cases and case_refs that no
    constraint owns, as the database has them (whatever the migrations made), in the order
    they were made. On SQLite the order matters: where two indexes cost the same, the planner
    takes the one made first, and at 1M cases indexes rebuilt in name order turned the count
    of live cases from a 50 ms partial-index scan into a 5 s table scan."""
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename IN ('cases', 'case_refs') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint) "
            "ORDER BY indexname::regclass::oid"
        )
    else:
        sql = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name IN ('cases', 'case_refs') AND sql IS NOT NULL ORDER BY rowid"
        )
    return [(str(name), str(statement)) for name, statement in connection.exec_driver_sql(sql)]


def _load_in_bulk(
    connection: Connection,
    chunks: list[_Chunk],
    progress: Callable[[int], None],
    indexes_built: Callable[[int, int], None],
) -> None:
    """Drop the secondary indexes, load every batch, build the indexes again: one sorted
    build costs far less than a million one-row insertions into each index. One transaction,
    so an interrupted load leaves the tables (and their indexes) as they were."""
    with connection.begin():
        indexes = _secondary_indexes(connection)
        for name, _ in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        # Without indexes to fill, writing costs less than generating: two generators.
        for batch in _generated(chunks, processes=BULK_GENERATORS):
            _insert(connection, batch)
            progress(batch.count)
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
        indexes_built(0, len(indexes))
        for done, (_, statement) in enumerate(indexes, start=1):
            connection.exec_driver_sql(statement)
            indexes_built(done, len(indexes))


def _tidy(engine: Engine) -> None:
    """Merge what the load left pending and refresh the planner's statistics."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("VACUUM (ANALYZE) cases")
            connection.exec_driver_sql("VACUUM (ANALYZE) case_refs")
        else:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()


def _generated(chunks: list[_Chunk], processes: int = 1) -> Iterator[_Prepared]:
    """The chunks' rows, in order, generated in `processes` processes besides this one."""
    if len(chunks) <= 1:
        yield from map(_prepare, chunks)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        yield from pool.imap(_prepare, chunks)
