"""Scroll: every hit of a search, batch after batch, for exports past paging's 10,000.

Batches seek past the last hit's sort key and Id (keyset paging), so each costs the same at
any depth. The hits are frozen to the cases that existed at the start: a case created later
has a higher pk and is never returned, in any sort order. Each case of that set is returned
exactly once, in order, as long as its sort key and whether it matches stay as they were
until the scroll passes it; what is returned is the case as it is when its batch is read.
Created never changes, so the Created sorts (the default among them) hold this for every
case, whatever else is edited meanwhile.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth.policy import Actor
from casedesk.case_settings import repository as settings_repository
from casedesk.cases import repository, search
from casedesk.cases.errors import ScrollNotFound
from casedesk.cases.models import CaseRow, CaseScrollRow
from casedesk.cases.schemas import DEFAULT_SCROLL_TAKE, OmniumCaseScrollRequest, SortOrder
from casedesk.cases.service import canonical_names

IDLE_LIMIT = timedelta(minutes=5)


@dataclass(frozen=True)
class Batch:
    rows: list[CaseRow]
    total_hits: int
    scroll_id: str


def _new_scroll_id() -> str:
    return secrets.token_urlsafe(32)


def _sort(request: OmniumCaseScrollRequest) -> SortOrder:
    return request.sort_order or SortOrder.CREATED_DESCENDING


def _take(request: OmniumCaseScrollRequest) -> int:
    return request.take or DEFAULT_SCROLL_TAKE


async def start_scroll(
    session: AsyncSession, *, actor: Actor, request: OmniumCaseScrollRequest
) -> Batch:
    """The first batch, the exact number of hits, and the id that reads the next batch."""
    rules = await settings_repository.get_rules(session, actor.tenant_id)
    normalised = canonical_names(request, rules).model_copy(
        update={"sort_order": _sort(request), "take": _take(request)}
    )
    moment = clock.now()
    await repository.delete_expired_scrolls(session, tenant_id=actor.tenant_id, now=moment)
    last_pk = await repository.last_case_pk(session)
    criteria = search.criteria_for(
        normalised, tenant_id=actor.tenant_id, markets=actor.markets, last_pk=last_pk
    )
    total = await repository.count_hits(session, criteria)
    rows, position = await repository.search_after(
        session, criteria, sort=_sort(normalised), position=None, limit=_take(normalised)
    )
    scroll = CaseScrollRow(
        id=_new_scroll_id(),
        tenant_id=actor.tenant_id,
        client_id=actor.client_id,
        request=normalised.model_dump(mode="json", exclude_none=True),
        last_pk=last_pk,
        total_hits=total,
        resume_after=position.to_json() if position else None,
        created=moment,
        expires=moment + IDLE_LIMIT,
    )
    await repository.add_scroll(session, scroll)
    return Batch(rows, total, scroll.id)


async def next_batch(session: AsyncSession, *, actor: Actor, scroll_id: str) -> Batch:
    """The batch after the last one read; empty once the scroll has been read to the end.

    Someone else's scroll and an expired one look exactly like a missing one."""
    moment = clock.now()
    scroll = await repository.get_scroll_for_update(
        session, tenant_id=actor.tenant_id, client_id=actor.client_id, scroll_id=scroll_id
    )
    if scroll is None or scroll.expires <= moment:
        raise ScrollNotFound(scroll_id)
    request = OmniumCaseScrollRequest.model_validate(scroll.request)
    sort = _sort(request)
    # The actor's markets as they are now: a market taken away mid-scroll hides its cases.
    criteria = search.criteria_for(
        request, tenant_id=actor.tenant_id, markets=actor.markets, last_pk=scroll.last_pk
    )
    resume_after = (
        search.Position.from_json(sort, scroll.resume_after) if scroll.resume_after else None
    )
    rows, position = await repository.search_after(
        session, criteria, sort=sort, position=resume_after, limit=_take(request)
    )
    if position is not None:
        scroll.resume_after = position.to_json()
    scroll.expires = moment + IDLE_LIMIT
    await session.flush()
    return Batch(rows, scroll.total_hits, scroll.id)
