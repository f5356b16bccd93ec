"""Moving a tenant's case counter, as thousands of earlier creates would have."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.cases.models import CaseCounterRow
from tests.conftest import run_in_transaction


def set_last_case_number(database_url: str, number: int, *, tenant_id: int = 1) -> None:
    """The tenant's next case gets `number` + 1; the tenant must have created a case already."""

    async def work(session: AsyncSession) -> None:
        result = await session.execute(
            update(CaseCounterRow)
            .where(CaseCounterRow.tenant_id == tenant_id)
            .values(last_number=number)
        )
        assert result.rowcount == 1  # type: ignore[attr-defined]

    run_in_transaction(database_url, work)
