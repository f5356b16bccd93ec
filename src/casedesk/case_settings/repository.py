from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.case_settings.models import CaseSettingsRow
from casedesk.case_settings.rules import DEFAULT_RULES, CaseRules


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
