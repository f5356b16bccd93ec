from __future__ import annotations

from fastapi import APIRouter

from casedesk.auth.dependencies import CaseReader, OwnerWriter
from casedesk.case_settings import service
from casedesk.case_settings.schemas import CaseSettings
from casedesk.http.problems import problem_responses
from casedesk.storage.database import ReadSession, WriteSession

router = APIRouter(prefix="/api/cases/settings", tags=["Case settings"])


@router.get(
    "",
    summary="The tenant's statuses, priorities and case numbering",
    response_model=CaseSettings,
    responses=problem_responses(401, 403),
)
async def get_settings(session: ReadSession, actor: CaseReader) -> CaseSettings:
    return CaseSettings.from_rules(await service.get_settings(session, actor=actor))


@router.put(
    "",
    summary="Replace the tenant's case settings",
    description=(
        "Requires ApiOwner and every market (AllMarkets): the settings apply to the whole "
        "tenant, so a user limited to markets gets 403. A status or priority that cases still "
        "use cannot be removed (409 naming how many use it). Changing a Level or Severity "
        "re-sorts existing cases. A NumberPrefix under which a later case would get an "
        "existing CaseNumber again is refused (409 naming it)."
    ),
    response_model=CaseSettings,
    responses=problem_responses(400, 401, 403, 409),
)
async def put_settings(
    settings: CaseSettings, actor: OwnerWriter, session: WriteSession
) -> CaseSettings:
    saved = await service.update_settings(session, actor=actor, proposed=settings.to_rules())
    return CaseSettings.from_rules(saved)
