"""The single-case write path's statements, sent straight to the driver inside the request's
own transaction.

Through SQLAlchemy's ORM each of these one-row statements cost about 0.5 ms of Python (select,
flush, unit of work), more than SQLite or PostgreSQL take to run them: a PATCH spent ~3 ms of
CPU against ~0.4 ms for a GET (measured in-process, 20k cases). Here each is one prepared
statement on the connection SQLAlchemy opened for the request, so the transaction, its
commit or rollback and everything else that shares it stay SQLAlchemy's. Searches, batches,
scrolls and settings keep the ORM: their statements are few and do more work each.

On PostgreSQL every statement is a network round trip, and each cost about 70 µs of this
process's CPU (psycopg's send and wait, the kernel's loopback): so a write's steps are joined
into as few statements as SQL allows. Reading the rules (with their lock) and the case is one
statement; writing the case and its refs is one (writable CTEs, refs as arrays); a create's
number, pk and Id check are one, and its row and refs another. psycopg's pipeline mode, tried
first, saved no CPU. On SQLite, where a statement is a function call, they stay apart.

Values are encoded as SQLAlchemy stores them, so both paths read each other's rows: on
SQLite, JSON as text and datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'; on PostgreSQL, JSONB and
native timestamps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, DateTime, UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.case_settings.repository import SETTINGS_LOCK
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules
from casedesk.cases.models import CaseRow
from casedesk.cases.repository import FIRST_CASE_NUMBER
from casedesk.storage.errors import unique_violation

COLUMNS = tuple(column.name for column in CaseRow.__table__.columns)
_DATES = frozenset(c.name for c in CaseRow.__table__.columns if isinstance(c.type, DateTime))
_JSON = frozenset(c.name for c in CaseRow.__table__.columns if isinstance(c.type, JSON))
_INSERTED = tuple(name for name in COLUMNS if name != "pk")
ID_CONSTRAINT = next(
    constraint
    for constraint in CaseRow.metadata.tables[CaseRow.__tablename__].constraints
    if isinstance(constraint, UniqueConstraint) and constraint.name == "uq_cases_tenant_id"
)
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


# The tenant's settings, held unchanged until the transaction ends (see
# case_settings.repository.hold_rules).
_RULES_SQLITE = "SELECT document FROM case_settings WHERE tenant_id = %s"
_HELD_RULES_POSTGRES = (
    "pg_advisory_xact_lock_shared(%s, %s) LEFT JOIN case_settings s ON s.tenant_id = %s"
)


def _rules(document: str | None) -> CaseRules:
    return DEFAULT_RULES if document is None else _parsed_rules(document)


@lru_cache(maxsize=256)
def _parsed_rules(document: str) -> CaseRules:
    return CaseRules.from_document(orjson.loads(document))


def _case(direct: Direct, values: Sequence[Any] | None) -> CaseRow | None:
    return None if values is None else CaseRow(**direct.decode(values))


async def get_for_update(direct: Direct, *, tenant_id: int, case_id: str) -> CaseRow | None:
    """The case as a row object outside the session, locked until the transaction ends."""
    sql = _SELECT if direct.backend == "sqlite" else f"{_SELECT} FOR UPDATE"
    rows = await direct.rows(sql, (tenant_id, case_id))
    return _case(direct, rows[0] if rows else None)


async def rules_and_case(
    direct: Direct, *, tenant_id: int, case_id: str
) -> tuple[CaseRules, CaseRow | None]:
    """The tenant's rules, held, and the case, locked, until the transaction ends: one
    statement (one round trip) on PostgreSQL."""
    if direct.backend == "sqlite":
        rows = await direct.rows(_RULES_SQLITE, (tenant_id,))
        return _rules(rows[0][0] if rows else None), await get_for_update(
            direct, tenant_id=tenant_id, case_id=case_id
        )
    sql = (
        f"SELECT s.document::text, found.* FROM {_HELD_RULES_POSTGRES} "
        f"LEFT JOIN LATERAL ({_SELECT} FOR UPDATE) found ON true"
    )
    params = (SETTINGS_LOCK, tenant_id, tenant_id, tenant_id, case_id)
    [(document, *values)] = await direct.rows(sql, params)
    return _rules(document), _case(direct, values if values[0] is not None else None)


def snapshot(row: CaseRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in COLUMNS}


Refs = frozenset[tuple[str, str]]


async def save(
    direct: Direct, row: CaseRow, before: dict[str, Any], *, refs_before: Refs, refs_after: Refs
) -> None:
    """Write the columns that differ from `before` and the refs that changed: one statement on
    PostgreSQL."""
    changed = [name for name in COLUMNS if getattr(row, name) != before[name]]
    if not changed:
        return
    assignments = ", ".join(f"{name} = %s" for name in changed)
    params = [direct.encode(name, getattr(row, name)) for name in changed]
    update_sql = f"UPDATE cases SET {assignments} WHERE tenant_id = %s AND pk = %s"
    if direct.backend == "sqlite":
        await direct.run(update_sql, (*params, row.tenant_id, row.pk))
        await change_refs(
            direct, tenant_id=row.tenant_id, case_pk=row.pk, before=refs_before, after=refs_after
        )
        return
    sql = f"WITH changed AS ({update_sql}), {_REFS_GONE}, {_REFS_CAME} SELECT 1"
    await direct.run(
        sql,
        (
            *params,
            row.tenant_id,
            row.pk,
            *_gone_params(row, refs_before - refs_after),
            *_came_params(row, refs_after - refs_before),
        ),
    )


# PostgreSQL: refs as two arrays (kinds, values), so one statement handles any number.
_REFS_GONE = (
    "gone AS (DELETE FROM case_refs r USING unnest(%s::text[], %s::text[]) AS g(kind, value) "
    "WHERE r.kind = g.kind AND r.value = g.value AND r.tenant_id = %s AND r.case_pk = %s)"
)
_REFS_CAME = (
    "came AS (INSERT INTO case_refs (tenant_id, kind, value, case_pk) "
    "SELECT %s, kind, value, %s FROM unnest(%s::text[], %s::text[]) AS c(kind, value))"
)


def _gone_params(row: CaseRow, refs: Refs) -> tuple[Any, ...]:
    return (*_arrays(refs), row.tenant_id, row.pk)


def _came_params(row: CaseRow, refs: Refs) -> tuple[Any, ...]:
    return (row.tenant_id, row.pk, *_arrays(refs))


def _arrays(refs: Refs) -> tuple[list[str] | None, list[str] | None]:
    if not refs:
        # NULL unnests to no rows; an empty list would be sent as smallint[], not text[].
        return None, None
    ordered = sorted(refs)
    return [kind for kind, _ in ordered], [value for _, value in ordered]


@dataclass(frozen=True)
class NewCaseSlot:
    """What a create needs before it builds its row."""

    rules: CaseRules
    id_taken: bool
    # SQLite: the number and no pk. PostgreSQL: the pk, reserved so that the row and its refs
    # go in one statement, and no number: that statement takes it, so the counter row stays
    # locked (and creates wait on it) only from there to the commit.
    number: int | None
    pk: int | None


_ID_EXISTS = "SELECT 1 FROM cases WHERE tenant_id = %s AND id = %s"
# The counter row's lock serialises concurrent creates of a tenant until the commit.
_NEXT_NUMBER = (
    "INSERT INTO case_counters (tenant_id, last_number) VALUES (%s, %s) "
    "ON CONFLICT (tenant_id) DO UPDATE SET last_number = case_counters.last_number + 1 "
    "RETURNING last_number"
)


async def new_case_slot(direct: Direct, *, tenant_id: int, case_id: str | None) -> NewCaseSlot:
    """The tenant's rules (held), whether a client-chosen Id is taken, and the number (SQLite)
    or the pk (PostgreSQL, in one statement). A create that fails later rolls the number
    back with its transaction."""
    if direct.backend == "sqlite":
        rules = await direct.rows(_RULES_SQLITE, (tenant_id,))
        taken = bool(case_id) and bool(await direct.rows(_ID_EXISTS, (tenant_id, case_id)))
        [(number,)] = await direct.rows(_NEXT_NUMBER, (tenant_id, FIRST_CASE_NUMBER))
        return NewCaseSlot(_rules(rules[0][0] if rules else None), taken, int(number), None)
    sql = (
        "SELECT s.document::text, nextval(pg_get_serial_sequence('cases', 'pk')), "
        "EXISTS (SELECT 1 FROM cases WHERE tenant_id = %s AND id = %s) "
        f"FROM {_HELD_RULES_POSTGRES}"
    )
    params = (tenant_id, case_id, SETTINGS_LOCK, tenant_id, tenant_id)
    [(document, pk, taken)] = await direct.rows(sql, params)
    return NewCaseSlot(_rules(document), bool(taken), None, int(pk))


_INSERT = (
    f"INSERT INTO cases ({', '.join(_INSERTED)}) "
    f"VALUES ({', '.join(['%s'] * len(_INSERTED))}) RETURNING pk"
)
# PostgreSQL: the next number (its prefix is the case_number parameter), the row and its refs.
_INSERT_NUMBERED = (
    f"WITH numbered AS ({_NEXT_NUMBER}), "
    f"added AS (INSERT INTO cases ({', '.join(COLUMNS)}) VALUES ("
    + ", ".join(
        "%s || (SELECT last_number FROM numbered)" if name == "case_number" else "%s"
        for name in COLUMNS
    )
    + f") RETURNING case_number), {_REFS_CAME} SELECT case_number FROM added"
)


async def insert(direct: Direct, row: CaseRow, refs: Refs, *, number_prefix: str) -> None:
    """Insert a new case with its refs: on SQLite numbered already, its pk set here; on
    PostgreSQL with its reserved pk, numbered here (`number_prefix` and the next number),
    in one statement. IdTaken if its Id is in use."""
    try:
        if direct.backend == "sqlite":
            params = [direct.encode(name, getattr(row, name)) for name in _INSERTED]
            row.pk = int((await direct.rows(_INSERT, params))[0][0])
            await change_refs(
                direct, tenant_id=row.tenant_id, case_pk=row.pk, before=frozenset(), after=refs
            )
            return
        params = [
            number_prefix if name == "case_number" else direct.encode(name, getattr(row, name))
            for name in COLUMNS
        ]
        [(case_number,)] = await direct.rows(
            _INSERT_NUMBERED,
            (row.tenant_id, FIRST_CASE_NUMBER, *params, *_came_params(row, refs)),
        )
        row.case_number = case_number
    except (sqlite3.IntegrityError, psycopg.errors.UniqueViolation) as error:
        if unique_violation(error, of=ID_CONSTRAINT):
            raise IdTaken(row.id) from error
        raise


async def change_refs(
    direct: Direct,
    *,
    tenant_id: int,
    case_pk: int,
    before: Refs,
    after: Refs,
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
