"""The single-case write path's statements, sent straight to the driver inside the request's
own transaction.

Through SQLAlchemy's ORM each of these one-row statements cost about 0.5 ms of Python (select,
flush, unit of work), more than SQLite or PostgreSQL take to run them: a PATCH spent ~3 ms of
CPU against ~0.4 ms for a GET (measured in-process, 20k cases). Here each is one prepared
statement on the connection SQLAlchemy opened for the request, so the transaction, its
commit or rollback and everything else that shares it stay SQLAlchemy's. Searches, batches,
scrolls and settings keep the ORM: their statements are few and do more work each.

Values are encoded as SQLAlchemy stores them, so both paths read each other's rows: on
SQLite, JSON as text and datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'; on PostgreSQL, JSONB and
native timestamps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, DateTime
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.case_settings.repository import SETTINGS_LOCK
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules
from casedesk.cases.models import CaseRow
from casedesk.cases.repository import FIRST_CASE_NUMBER

COLUMNS = tuple(column.name for column in CaseRow.__table__.columns)
_DATES = frozenset(c.name for c in CaseRow.__table__.columns if isinstance(c.type, DateTime))
_JSON = frozenset(c.name for c in CaseRow.__table__.columns if isinstance(c.type, JSON))
_INSERTED = tuple(name for name in COLUMNS if name != "pk")
ID_CONSTRAINT = "uq_cases_tenant_id"
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM cases WHERE tenant_id = %s AND id = %s"


class IdTaken(Exception):
    """An insert met an existing (tenant, Id)."""


class Direct:
    """The request transaction's driver connection, and how its backend spells values."""

    def __init__(self, driver: Any, backend: str) -> None:
        self._driver = driver
        self.backend = backend
        self._sqlite = backend == "sqlite"

    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?") if self._sqlite else sql

    async def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self._sqlite:
            cursor = await self._driver.execute(self._sql(sql), params)
            return list(await cursor.fetchall())
        cursor = await self._driver.execute(sql, params, prepare=True)
        return list(await cursor.fetchall())

    async def run(self, sql: str, params: Sequence[Any]) -> None:
        if self._sqlite:
            await self._driver.execute(self._sql(sql), params)
        else:
            await self._driver.execute(sql, params, prepare=True)

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self._sqlite:
            async with self._driver.cursor() as cursor:
                await cursor.executemany(self._sql(sql), rows)
        else:
            async with self._driver.cursor() as cursor:
                await cursor.executemany(sql, rows)

    def encode(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in _JSON:
            return orjson.dumps(value).decode() if self._sqlite else Jsonb(value)
        if name in _DATES and self._sqlite:
            return _sqlite_datetime(value)
        return value

    def decode(self, row: Sequence[Any]) -> dict[str, Any]:
        values = dict(zip(COLUMNS, row, strict=True))
        if self._sqlite:
            for name in _JSON:
                values[name] = orjson.loads(values[name])
            for name in _DATES:
                if values[name] is not None:
                    values[name] = datetime.fromisoformat(values[name])
        return values


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text, four-digit year included (strftime's %Y is not
    zero-padded on every platform: year 122 would become '122-…' and sort after '2026-…')."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


async def open_direct(session: AsyncSession) -> Direct:
    """The driver connection of the session's transaction, begun if it was not yet (on
    SQLite a write session begins with BEGIN IMMEDIATE, so the write lock is held from here)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return Direct(raw.driver_connection, connection.dialect.name)


async def hold_and_get_rules(direct: Direct, tenant_id: int) -> CaseRules:
    """The tenant's rules, held unchanged until the transaction ends (see
    case_settings.repository.hold_rules): one statement on either backend."""
    if direct.backend == "postgresql":
        sql = (
            "SELECT document::text FROM pg_advisory_xact_lock_shared(%s, %s) "
            "LEFT JOIN case_settings ON tenant_id = %s"
        )
        rows = await direct.rows(sql, (SETTINGS_LOCK, tenant_id, tenant_id))
    else:
        rows = await direct.rows(
            "SELECT document FROM case_settings WHERE tenant_id = %s", (tenant_id,)
        )
    document = rows[0][0] if rows else None
    return DEFAULT_RULES if document is None else _parsed_rules(document)


@lru_cache(maxsize=256)
def _parsed_rules(document: str) -> CaseRules:
    return CaseRules.from_document(orjson.loads(document))


async def get_for_update(direct: Direct, *, tenant_id: int, case_id: str) -> CaseRow | None:
    """The case as a row object outside the session, locked until the transaction ends."""
    sql = _SELECT if direct.backend == "sqlite" else f"{_SELECT} FOR UPDATE"
    rows = await direct.rows(sql, (tenant_id, case_id))
    return CaseRow(**direct.decode(rows[0])) if rows else None


def snapshot(row: CaseRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in COLUMNS}


async def update(direct: Direct, row: CaseRow, before: dict[str, Any]) -> None:
    """Write the columns that differ from `before`."""
    changed = [name for name in COLUMNS if getattr(row, name) != before[name]]
    if not changed:
        return
    assignments = ", ".join(f"{name} = %s" for name in changed)
    params = [direct.encode(name, getattr(row, name)) for name in changed]
    sql = f"UPDATE cases SET {assignments} WHERE tenant_id = %s AND pk = %s"
    await direct.run(sql, (*params, row.tenant_id, row.pk))


async def id_exists(direct: Direct, *, tenant_id: int, case_id: str) -> bool:
    sql = "SELECT 1 FROM cases WHERE tenant_id = %s AND id = %s"
    return bool(await direct.rows(sql, (tenant_id, case_id)))


async def next_case_number(direct: Direct, *, tenant_id: int) -> int:
    """The tenant's next number; the counter row's lock serialises concurrent creates."""
    sql = (
        "INSERT INTO case_counters (tenant_id, last_number) VALUES (%s, %s) "
        "ON CONFLICT (tenant_id) DO UPDATE SET last_number = case_counters.last_number + 1 "
        "RETURNING last_number"
    )
    rows = await direct.rows(sql, (tenant_id, FIRST_CASE_NUMBER))
    return int(rows[0][0])


async def insert(direct: Direct, row: CaseRow) -> None:
    """Insert a new case and set its pk; IdTaken if its Id is in use."""
    sql = (
        f"INSERT INTO cases ({', '.join(_INSERTED)}) "
        f"VALUES ({', '.join(['%s'] * len(_INSERTED))}) RETURNING pk"
    )
    params = [direct.encode(name, getattr(row, name)) for name in _INSERTED]
    try:
        rows = await direct.rows(sql, params)
    except (sqlite3.IntegrityError, psycopg.errors.UniqueViolation) as error:
        if _id_clash(error):
            raise IdTaken(row.id) from error
        raise
    row.pk = int(rows[0][0])


def _id_clash(error: Exception) -> bool:
    """Whether an insert failed on the (tenant, Id) unique constraint, and nothing else."""
    if isinstance(error, psycopg.errors.UniqueViolation):
        return error.diag.constraint_name == ID_CONSTRAINT
    return "cases.tenant_id, cases.id" in str(error)


async def change_refs(
    direct: Direct,
    *,
    tenant_id: int,
    case_pk: int,
    before: frozenset[tuple[str, str]],
    after: frozenset[tuple[str, str]],
) -> None:
    """Delete the refs that went, insert the ones that came."""
    await direct.run_many(
        "DELETE FROM case_refs WHERE tenant_id = %s AND kind = %s AND value = %s AND case_pk = %s",
        [(tenant_id, kind, value, case_pk) for kind, value in sorted(before - after)],
    )
    await direct.run_many(
        "INSERT INTO case_refs (tenant_id, kind, value, case_pk) VALUES (%s, %s, %s, %s)",
        [(tenant_id, kind, value, case_pk) for kind, value in sorted(after - before)],
    )
