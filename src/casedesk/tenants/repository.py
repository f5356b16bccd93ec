from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.tenants.models import TenantRow


async def get_by_name(session: AsyncSession, name: str) -> TenantRow | None:
    result = await session.execute(select(TenantRow).where(TenantRow.name == name))
    return result.scalar_one_or_none()


async def list_all(session: AsyncSession) -> list[TenantRow]:
    result = await session.execute(select(TenantRow).order_by(TenantRow.id))
    return list(result.scalars())
