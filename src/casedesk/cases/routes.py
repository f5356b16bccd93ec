"""The Omnium Cases endpoints: HTTP in, use case, one serialisation out.

Write routes name the actor before the session: FastAPI resolves dependencies in order, so a
bad token is refused before the request queues for SQLite's write lock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Path, Query, Request, status
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from casedesk.auth.dependencies import CaseSearcher, CaseWriter, authenticated_read
from casedesk.auth.policy import Role
from casedesk.cases import examples, repository, service
from casedesk.cases.models import ID_MAX, NAME_MAX, CaseRow
from casedesk.cases.rendering import case_json, etag, render_case
from casedesk.cases.schemas import (
    DEFAULT_STATUSES,
    NOT_RESERVED,
    RESERVED_ID_WORDS,
    STATUS_DESCRIPTION,
    IfMatchValue,
    OmniumCase,
    OmniumCaseCreate,
    OmniumCasePatch,
    OmniumCaseReplace,
    OmniumCaseSearchRequest,
    OmniumCaseSearchResult,
    OmniumComment,
)
from casedesk.http.problems import problem_responses
from casedesk.http.wire import FilledText, StoredText
from casedesk.idempotency.answers import IDEMPOTENCY_ERRORS, IDEMPOTENT, keep
from casedesk.storage.database import SearchSession, WriteSession

_RESERVED_ID = re.compile(RESERVED_ID_WORDS)


class CaseRoute(APIRoute):
    """A route whose {id} names a case, so never a reserved id, which names a resource of its
    own (GET /api/cases/search is a 405 of the search, not a lookup of a case "search")."""

    def claims(self, path_params: Mapping[str, Any]) -> bool:
        case_id = path_params.get("id")
        return case_id is None or not _RESERVED_ID.fullmatch(case_id)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and not self.claims(child_scope["path_params"]):
            return Match.NONE, {}
        return match, child_scope


router = APIRouter(prefix="/api/cases", tags=["Cases"], route_class=CaseRoute)

# Path and query text is checked like body text: a NUL would break PostgreSQL (500) and
# be stored as is by SQLite.
CaseId = Annotated[
    StoredText,
    Path(
        alias="id",
        min_length=1,
        max_length=ID_MAX,
        description="The case's Id",
        json_schema_extra=NOT_RESERVED,
    ),
]
IfMatch = Annotated[
    IfMatchValue | None,
    Header(
        alias="If-Match",
        description=(
            "An ETag from an earlier response (or `*`, or a list of tags): the write applies "
            "only if one is current, else 412. A value that is not such a list is a 400."
        ),
    ),
]
JSON = "application/json"
_READ_ERRORS = problem_responses(400, 401, 403, 404)
_WRITE_ERRORS = {**problem_responses(400, 401, 403, 404, 409, 412), **IDEMPOTENCY_ERRORS}


def _case_response(row: CaseRow, status_code: int = 200) -> Response:
    headers = {"ETag": etag(row)}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = f"/api/cases/{row.id}"
    return Response(case_json(row), status_code, headers=headers, media_type=JSON)


@router.get(
    "/{id}",
    summary="Get a case by ID",
    response_model=OmniumCase,
    responses=_READ_ERRORS,
)
async def get_case(case_id: CaseId, request: Request) -> Response:
    actor, view = await authenticated_read(
        request, Role.CASE_READ, partial(repository.fetch_view_as, case_id=case_id)
    )
    return _case_response(service.visible_view(actor, view, case_id))


@router.post(
    "",
    summary="Create a new case",
    status_code=status.HTTP_201_CREATED,
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def create_case(
    data: Annotated[
        OmniumCaseCreate, Body(openapi_examples={"reference": {"value": examples.CREATE}})
    ],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
) -> Response:
    row = await service.create_case(session, actor=actor, data=data)
    return await keep(request, session, _case_response(row, status.HTTP_201_CREATED))


@router.put(
    "",
    summary="Full update of a case",
    description="Replaces every client-writable field; a field left out becomes null or empty.",
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def replace_case(
    data: Annotated[
        OmniumCaseReplace, Body(openapi_examples={"example": {"value": examples.REPLACE}})
    ],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    row = await service.replace_case(session, actor=actor, data=data, if_match=if_match)
    return await keep(request, session, _case_response(row))


@router.patch(
    "",
    summary="Partial update (only non-null fields are applied)",
    description=(
        "Applies only the fields that are not null; a list that is sent replaces the list. "
        "`FieldsToForceNull` names fields to clear."
    ),
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def patch_case(
    patch: Annotated[
        OmniumCasePatch, Body(openapi_examples={"reference": {"value": examples.PATCH}})
    ],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    row = await service.patch_case(session, actor=actor, patch=patch, if_match=if_match)
    return await keep(request, session, _case_response(row))


@router.delete(
    "/{id}",
    summary="Delete a case (soft delete)",
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def delete_case(
    case_id: CaseId,
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    row = await service.delete_case(session, actor=actor, case_id=case_id, if_match=if_match)
    return await keep(request, session, _case_response(row))


@router.post(
    "/search",
    summary="Search cases with filters and pagination",
    response_model=OmniumCaseSearchResult,
    responses={
        200: {"content": {JSON: {"example": examples.SEARCH_RESULT}}},
        **problem_responses(400, 401, 403),
    },
)
async def search_cases(
    request: Annotated[
        OmniumCaseSearchRequest, Body(openapi_examples={"reference": {"value": examples.SEARCH}})
    ],
    session: SearchSession,
    actor: CaseSearcher,
) -> Response:
    rows, total, page, take = await service.search_cases(session, actor=actor, request=request)
    body = {
        "Items": [render_case(row) for row in rows],
        "TotalHits": total,
        "Page": page,
        "PageSize": take,
    }
    return Response(orjson.dumps(body), media_type=JSON)


@router.post(
    "/{id}/assignto",
    summary="Assign a case to a user",
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def assign_case(
    case_id: CaseId,
    user_id: Annotated[FilledText, Query(alias="userId", max_length=ID_MAX, examples=["user-456"])],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
    user_name: Annotated[
        StoredText | None, Query(alias="userName", max_length=NAME_MAX, examples=["John Agent"])
    ] = None,
    if_match: IfMatch = None,
) -> Response:
    row = await service.assign_case(
        session,
        actor=actor,
        case_id=case_id,
        user_id=user_id,
        user_name=user_name,
        if_match=if_match,
    )
    return await keep(request, session, _case_response(row))


@router.post(
    "/{id}/changestatus",
    summary="Change the status of a case",
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def change_status(
    case_id: CaseId,
    new_status: Annotated[
        FilledText,
        Query(
            alias="status",
            max_length=NAME_MAX,
            description=STATUS_DESCRIPTION,
            examples=DEFAULT_STATUSES,
        ),
    ],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    row = await service.change_status(
        session, actor=actor, case_id=case_id, status=new_status, if_match=if_match
    )
    return await keep(request, session, _case_response(row))


@router.post(
    "/{id}/comments",
    summary="Add a note to a case",
    description=(
        "Adds an OmniumComment: `Public` notes go to CaseNotes, `Internal` (the default) to "
        "InternalNotes. Answers with the whole case."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def add_comment(
    case_id: CaseId,
    comment: Annotated[OmniumComment, Body(openapi_examples={"note": {"value": examples.COMMENT}})],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    row = await service.add_comment(
        session, actor=actor, case_id=case_id, comment=comment, if_match=if_match
    )
    return await keep(request, session, _case_response(row, status.HTTP_201_CREATED))


@router.post(
    "/{id}/restore",
    summary="Undo a soft delete",
    response_model=OmniumCase,
    responses=_WRITE_ERRORS,
    openapi_extra=IDEMPOTENT,
)
async def restore_case(
    case_id: CaseId,
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    row = await service.restore_case(session, actor=actor, case_id=case_id, if_match=if_match)
    return await keep(request, session, _case_response(row))
