"""Scroll endpoints: read every hit of a search in batches, past paging's 10,000."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Depends, Path
from fastapi.responses import Response

from casedesk.auth.dependencies import writer
from casedesk.auth.policy import Actor, Role
from casedesk.cases import scroll
from casedesk.cases.rendering import render_case
from casedesk.cases.schemas import OmniumCaseScrollRequest, OmniumCaseScrollResult
from casedesk.http.problems import problem_responses
from casedesk.http.wire import StoredText
from casedesk.storage.database import WriteSession

router = APIRouter(prefix="/api/cases", tags=["Cases"])

# Reading needs only CaseRead, but each call records the scroll's progress: the user is
# resolved in the request's one write transaction.
ScrollReader = Annotated[Actor, Depends(writer(Role.CASE_READ))]
ScrollId = Annotated[
    StoredText,
    Path(
        alias="scrollId",
        min_length=1,
        max_length=64,
        description="The ScrollId the previous batch returned",
    ),
]
EXAMPLE = {"SearchText": "damaged", "Status": "New", "SortOrder": "CreatedAscending", "Take": 500}
JSON = "application/json"


def _batch_response(batch: scroll.Batch) -> Response:
    body = {
        "Items": [render_case(row) for row in batch.rows],
        "TotalHits": batch.total_hits,
        "ScrollId": batch.scroll_id,
    }
    return Response(orjson.dumps(body), media_type=JSON)


@router.post(
    "/scroll",
    summary="Start a scroll through every matching case",
    description=(
        "Takes a search without `Page`; `Take` is the batch size (default 100, at most 1,000). "
        "Answers the first batch, the exact `TotalHits` at the start, and a `ScrollId` for "
        "`GET /api/cases/scroll/{scrollId}`. Only cases that exist now are returned."
    ),
    response_model=OmniumCaseScrollResult,
    responses=problem_responses(400, 401, 403),
)
async def start_scroll(
    request: Annotated[
        OmniumCaseScrollRequest, Body(openapi_examples={"export": {"value": EXAMPLE}})
    ],
    session: WriteSession,
    actor: ScrollReader,
) -> Response:
    return _batch_response(await scroll.start_scroll(session, actor=actor, request=request))


@router.get(
    "/scroll/{scrollId}",
    summary="The next batch of a scroll",
    description=(
        "Each hit comes exactly once, in the requested order; an empty `Items` means the end. "
        "A scroll expires after 5 idle minutes (each call restarts them) and only the user "
        "who started it may read it: otherwise 404."
    ),
    response_model=OmniumCaseScrollResult,
    responses=problem_responses(400, 401, 403, 404),
)
async def next_batch(scroll_id: ScrollId, session: WriteSession, actor: ScrollReader) -> Response:
    return _batch_response(await scroll.next_batch(session, actor=actor, scroll_id=scroll_id))
