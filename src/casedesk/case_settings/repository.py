from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.case_settings.models import CaseSettingsRow
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules

# Advisory-lock namespace for "the case settings of tenant N" ('case' in ASCII).
SETTINGS_LOCK = 0x63617365


async def hold_rules(session: AsyncSession, tenant_id: int, *, exclusive: bool = False) -> None:
    """Keep the tenant's settings from changing until this transaction ends.

    Case writes hold it shared, a settings change exclusively, so a status cannot be removed
    while a case is moving into it. SQLite needs nothing: its writers already take turns.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    lock = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    await session.execute(select(lock(SETTINGS_LOCK, tenant_id)))


async def get_rules(session: AsyncSession, tenant_id: int) -> CaseRules:
    result = await session.execute(
        select(CaseSettingsRow.document).where(CaseSettingsRow.tenant_id == tenant_id)
    )
    document = result.scalar_one_or_none()
    return DEFAULT_RULES if document is None else CaseRules.from_document(document)


async def save_rules(session: AsyncSession, tenant_id: int, rules: CaseRules) -> None:
    row = await session.get(CaseSettingsRow, tenant_id)
    if row is None:
        session.add(CaseSettingsRow(tenant_id=tenant_id, document=rules.to_document()))
    else:
        row.document = rules.to_document()
    await session.flush()
