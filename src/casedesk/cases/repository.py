"""Every query on cases. Each one is scoped to a tenant; none reads across tenants."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth.policy import Actor
from casedesk.auth.repository import ACTOR_COLUMNS, ACTOR_WHERE, actor_of
from casedesk.auth.tokens import TokenClaims
from casedesk.cases import search
from casedesk.cases.models import CaseCounterRow, CaseRefRow, CaseRow, CaseScrollRow
from casedesk.cases.schemas import SortOrder
from casedesk.storage.fastread import FastReader

FIRST_CASE_NUMBER = 1001


def _backend(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def get(session: AsyncSession, *, tenant_id: int, case_id: str) -> CaseRow | None:
    result = await session.execute(
        select(CaseRow).where(CaseRow.tenant_id == tenant_id, CaseRow.id == case_id)
    )
    return result.scalar_one_or_none()


async def reserve_case_numbers(session: AsyncSession, *, tenant_id: int, count: int) -> range:
    """Hand out the tenant's next `count` numbers, consecutive, in one counter update."""
    dialect = postgresql if _backend(session) == "postgresql" else sqlite
    statement = (
        dialect.insert(CaseCounterRow)
        .values(tenant_id=tenant_id, last_number=FIRST_CASE_NUMBER + count - 1)
        .on_conflict_do_update(
            index_elements=[CaseCounterRow.tenant_id],
            set_={"last_number": CaseCounterRow.last_number + count},
        )
        .returning(CaseCounterRow.last_number)
    )
    last = int((await session.execute(statement)).scalar_one())
    return range(last - count + 1, last + 1)


async def last_case_number(session: AsyncSession, *, tenant_id: int) -> int:
    """The last number handed out in the tenant; the next one is higher."""
    result = await session.execute(
        select(CaseCounterRow.last_number).where(CaseCounterRow.tenant_id == tenant_id)
    )
    last = result.scalar_one_or_none()
    return FIRST_CASE_NUMBER - 1 if last is None else int(last)


async def case_numbers_ahead(
    session: AsyncSession, *, tenant_id: int, prefix: str, last: int
) -> list[str]:
    """The tenant's case numbers that could be `prefix` followed by a number above `last`: of
    those that are `prefix` and a digit from 1 to 9 (an index range), the ones longer than
    `prefix` and `last` written out, or as long and sorting after it. A few more may come
    back (`CS-9x`); case_settings.rules.number_in decides."""
    after = f"{prefix}{last}"
    result = await session.execute(
        select(CaseRow.case_number).where(
            CaseRow.tenant_id == tenant_id,
            CaseRow.case_number >= f"{prefix}1",
            CaseRow.case_number < f"{prefix}:",
            (func.length(CaseRow.case_number) > len(after))
            | ((func.length(CaseRow.case_number) == len(after)) & (CaseRow.case_number > after)),
        )
    )
    return list(result.scalars())


_CASE_COLUMNS = tuple(column.key for column in CaseRow.__table__.columns if column.key != "pk")


async def insert_many(
    session: AsyncSession, *, tenant_id: int, rows: Sequence[CaseRow]
) -> list[int]:
    """Insert new cases, each with its own Id, and answer their pks in order. The rows stay
    outside the session, so nothing is tracked or flushed again.

    A plain executemany (one statement the driver prepares once) and a SELECT of the pks by
    Id cost a third of one INSERT … RETURNING with every row's values inlined."""
    values = [{key: getattr(row, key) for key in _CASE_COLUMNS} for row in rows]
    await session.execute(insert(CaseRow), values)
    result = await session.execute(
        select(CaseRow.id, CaseRow.pk).where(
            CaseRow.tenant_id == tenant_id, CaseRow.id.in_([row.id for row in rows])
        )
    )
    pks = {case_id: pk for case_id, pk in result}
    return [pks[row.id] for row in rows]


async def existing_ids(
    session: AsyncSession, *, tenant_id: int, case_ids: Collection[str]
) -> set[str]:
    """Which of `case_ids` the tenant's cases already use, soft-deleted ones included."""
    if not case_ids:
        return set()
    result = await session.execute(
        select(CaseRow.id).where(CaseRow.tenant_id == tenant_id, CaseRow.id.in_(case_ids))
    )
    return set(result.scalars())


async def get_many_for_update(
    session: AsyncSession, *, tenant_id: int, case_ids: Collection[str]
) -> dict[str, CaseRow]:
    """The cases among `case_ids`, by Id, locked in pk order so that batches never deadlock."""
    if not case_ids:
        return {}
    result = await session.execute(
        select(CaseRow)
        .where(CaseRow.tenant_id == tenant_id, CaseRow.id.in_(case_ids))
        .order_by(CaseRow.pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in result.scalars()}


async def replace_refs_many(
    session: AsyncSession,
    *,
    tenant_id: int,
    refs: Mapping[int, Iterable[tuple[str, str]]],
    fresh: bool = False,
) -> None:
    """Set the refs of many cases, by pk, in two statements; `fresh` cases have none to drop."""
    if not refs:
        return
    if not fresh:
        await session.execute(delete(CaseRefRow).where(CaseRefRow.case_pk.in_(list(refs))))
    values = [
        {"tenant_id": tenant_id, "kind": kind, "value": value, "case_pk": pk}
        for pk, case_refs in refs.items()
        for kind, value in sorted(set(case_refs))
    ]
    if values:
        await session.execute(insert(CaseRefRow), values)


async def search_page(
    session: AsyncSession, criteria: search.Criteria, *, sort: SortOrder, offset: int, limit: int
) -> tuple[list[CaseRow], int]:
    backend = _backend(session)
    total = (await session.execute(search.count_query(criteria, backend))).scalar_one()
    if total <= offset:
        return [], total
    result = await session.execute(search.page_query(criteria, backend, sort, offset, limit))
    return list(result.scalars()), total


async def last_case_pk(session: AsyncSession) -> int:
    """The highest case pk so far, of any tenant: every case created later has a higher one."""
    return int((await session.execute(select(func.max(CaseRow.pk)))).scalar_one() or 0)


async def count_hits(session: AsyncSession, criteria: search.Criteria) -> int:
    result = await session.execute(search.count_query(criteria, _backend(session)))
    return int(result.scalar_one())


async def search_after(
    session: AsyncSession,
    criteria: search.Criteria,
    *,
    sort: SortOrder,
    position: search.Position | None,
    limit: int,
) -> tuple[list[CaseRow], search.Position | None]:
    """The next hits after `position`, and the position of the last one (None if none)."""
    statement = search.keyset_query(criteria, _backend(session), sort, position, limit)
    hits = (await session.execute(statement)).all()
    if not hits:
        return [], None
    last, key = hits[-1]
    return [row for row, _ in hits], search.Position(key, last.id)


async def add_scroll(session: AsyncSession, scroll: CaseScrollRow) -> None:
    session.add(scroll)
    await session.flush()


async def get_scroll_for_update(
    session: AsyncSession, *, tenant_id: int, client_id: str, scroll_id: str
) -> CaseScrollRow | None:
    """The user's own scroll, locked so that concurrent calls take batches one after another."""
    result = await session.execute(
        select(CaseScrollRow)
        .where(
            CaseScrollRow.id == scroll_id,
            CaseScrollRow.tenant_id == tenant_id,
            CaseScrollRow.client_id == client_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def delete_expired_scrolls(session: AsyncSession, *, tenant_id: int, now: datetime) -> None:
    await session.execute(
        delete(CaseScrollRow).where(
            CaseScrollRow.tenant_id == tenant_id, CaseScrollRow.expires <= now
        )
    )


async def count_by_status(session: AsyncSession, *, tenant_id: int) -> dict[str, int]:
    result = await session.execute(
        select(CaseRow.status, func.count())
        .where(CaseRow.tenant_id == tenant_id)
        .group_by(CaseRow.status)
    )
    return {status: count for status, count in result}


async def count_by_priority(session: AsyncSession, *, tenant_id: int) -> dict[str, int]:
    result = await session.execute(
        select(CaseRow.priority, func.count())
        .where(CaseRow.tenant_id == tenant_id)
        .group_by(CaseRow.priority)
    )
    return {priority: count for priority, count in result}


async def restate_status(
    session: AsyncSession, *, tenant_id: int, old_name: str, new_name: str, level: int
) -> None:
    await session.execute(
        update(CaseRow)
        .where(CaseRow.tenant_id == tenant_id, CaseRow.status == old_name)
        .values(status=new_name, status_level=level)
    )


async def restate_priority(
    session: AsyncSession, *, tenant_id: int, old_name: str, new_name: str, severity: int
) -> None:
    await session.execute(
        update(CaseRow)
        .where(CaseRow.tenant_id == tenant_id, CaseRow.priority == old_name)
        .values(priority=new_name, priority_severity=severity)
    )


_VIEW_DATES = frozenset(
    column.name for column in CaseRow.__table__.columns if isinstance(column.type, DateTime)
)
_VIEW_JSON = frozenset(
    column.name for column in CaseRow.__table__.columns if isinstance(column.type, JSON)
)


def _view(backend: str, columns: tuple[str, ...], row: Sequence[Any]) -> SimpleNamespace:
    values = dict(zip(columns, row, strict=True))
    if backend == "sqlite":
        for name in _VIEW_JSON:
            values[name] = orjson.loads(values[name])
        for name in _VIEW_DATES:
            if values[name] is not None:
                values[name] = datetime.fromisoformat(values[name])
    return SimpleNamespace(**values)


@cache
def _view_as_sql() -> tuple[str, tuple[str, ...]]:
    columns = tuple(column.name for column in CaseRow.__table__.columns)
    sql = (
        f"SELECT {ACTOR_COLUMNS}, {', '.join(f'c.{name}' for name in columns)} "
        "FROM api_users u LEFT JOIN cases c ON c.tenant_id = u.tenant_id AND c.id = %s "
        f"WHERE {ACTOR_WHERE}"
    )
    return sql, columns


async def fetch_view_as(
    reader: FastReader, claims: TokenClaims, *, case_id: str
) -> tuple[Actor | None, SimpleNamespace | None]:
    """The token's active user and the case, in one statement (GET by id, the hottest path:
    one round trip to PostgreSQL instead of two). No user: (None, None)."""
    sql, columns = _view_as_sql()
    row = await reader.one(sql, (case_id, claims.client_id, claims.tenant_id))
    if row is None:
        return None, None
    actor = actor_of(claims.client_id, claims.tenant_id, row[0], row[1])
    case = row[2:]
    return actor, None if case[0] is None else _view(reader.backend, columns, case)
