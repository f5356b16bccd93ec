"""Every query on cases. Each one is scoped to a tenant; none reads across tenants."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.cases import search
from casedesk.cases.models import CaseCounterRow, CaseRefRow, CaseRow
from casedesk.cases.schemas import SortOrder

FIRST_CASE_NUMBER = 1001


def _backend(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def get(session: AsyncSession, *, tenant_id: int, case_id: str) -> CaseRow | None:
    result = await session.execute(
        select(CaseRow).where(CaseRow.tenant_id == tenant_id, CaseRow.id == case_id)
    )
    return result.scalar_one_or_none()


async def get_for_update(session: AsyncSession, *, tenant_id: int, case_id: str) -> CaseRow | None:
    """The case, locked until the transaction ends (SQLite's write lock already covers it)."""
    result = await session.execute(
        select(CaseRow)
        .where(CaseRow.tenant_id == tenant_id, CaseRow.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def id_exists(session: AsyncSession, *, tenant_id: int, case_id: str) -> bool:
    result = await session.execute(
        select(CaseRow.pk).where(CaseRow.tenant_id == tenant_id, CaseRow.id == case_id)
    )
    return result.first() is not None


async def next_case_number(session: AsyncSession, *, tenant_id: int) -> int:
    """Hand out the tenant's next number; the counter row's lock serialises concurrent creates."""
    dialect = postgresql if _backend(session) == "postgresql" else sqlite
    statement = (
        dialect.insert(CaseCounterRow)
        .values(tenant_id=tenant_id, last_number=FIRST_CASE_NUMBER)
        .on_conflict_do_update(
            index_elements=[CaseCounterRow.tenant_id],
            set_={"last_number": CaseCounterRow.last_number + 1},
        )
        .returning(CaseCounterRow.last_number)
    )
    result = await session.execute(statement)
    return int(result.scalar_one())


async def add(session: AsyncSession, row: CaseRow) -> None:
    session.add(row)
    await session.flush()


async def replace_refs(
    session: AsyncSession, *, row: CaseRow, refs: Iterable[tuple[str, str]]
) -> None:
    await session.execute(delete(CaseRefRow).where(CaseRefRow.case_pk == row.pk))
    values = [
        {"tenant_id": row.tenant_id, "kind": kind, "value": value, "case_pk": row.pk}
        for kind, value in sorted(set(refs))
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
