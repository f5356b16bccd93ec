"""Tenants: every stored row carries one, and nothing is ever read across them."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.errors import Conflict, InvalidInput, NotFound
from casedesk.tenants import repository
from casedesk.tenants.models import TenantRow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


async def create_tenant(session: AsyncSession, *, name: str) -> TenantRow:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            {
                "Name": [
                    "Use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit."
                ]
            }
        )
    if await repository.get_by_name(session, name) is not None:
        raise Conflict(f"Tenant {name!r} already exists.")
    tenant = TenantRow(name=name, created=clock.now())
    session.add(tenant)
    await session.flush()
    return tenant


async def require_tenant(session: AsyncSession, *, name: str) -> TenantRow:
    tenant = await repository.get_by_name(session, name)
    if tenant is None:
        raise NotFound(f"Tenant {name!r} does not exist.")
    return tenant
