"""Batch endpoints: the body is read as an array of raw objects and each one is validated on its
own, so that one bad item is reported by its index instead of failing the whole request."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import ValidationError

from casedesk.auth.dependencies import CaseWriter
from casedesk.cases import batch, examples
from casedesk.cases.batch import MAX_ITEMS, BatchOutcome, BatchResult, Invalid
from casedesk.cases.batch_schemas import OmniumBatchResult
from casedesk.cases.schemas import OmniumCaseCreate, OmniumCasePatch
from casedesk.errors import InvalidInput
from casedesk.http import problems
from casedesk.http.wire import WireModel
from casedesk.idempotency.answers import IDEMPOTENCY_ERRORS, IDEMPOTENT, keep
from casedesk.storage.database import WriteSession

router = APIRouter(prefix="/api/cases", tags=["Cases"])

JSON = "application/json"
_BATCH_ERRORS = {**problems.problem_responses(400, 401, 403, 409), **IDEMPOTENCY_ERRORS}
Item = TypeVar("Item", bound=WireModel)


def _array_of(model: type[WireModel]) -> dict[str, Any]:
    """The documented body: an array of `model`; validated item by item, not as a whole."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"content": {JSON: {"schema": {"items": ref}}}}}


def _items(example: dict[str, Any]) -> Any:
    return Body(
        min_length=0,
        max_length=MAX_ITEMS,
        description=(
            f"0 to {MAX_ITEMS:,} items, each validated and applied on its own; an empty array "
            "answers all counts 0."
        ),
        openapi_examples={"two items": {"value": example}},
    )


def _raw_id(item: Any) -> str | None:
    """The Id an invalid item was sent with, echoed in its error if JSON can carry it back."""
    if isinstance(item, dict):
        for key, value in item.items():
            if isinstance(key, str) and key.lower() == "id" and isinstance(value, str):
                return value if _encodable(value) else None
    return None


def _encodable(text: str) -> bool:
    """False for a lone surrogate, which no UTF-8 answer can hold."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _validate_each(model: type[Item], items: list[Any]) -> list[Item | Invalid]:
    """Each item validated as the single-item endpoint validates its body, errors named alike."""
    checked: list[Item | Invalid] = []
    for item in items:
        try:
            checked.append(model.model_validate(item))
        except ValidationError as error:
            field_errors = problems.validation_errors(error.errors(include_url=False))
            invalid = InvalidInput(field_errors, problems.validation_detail(field_errors))
            checked.append(Invalid(_raw_id(item), invalid))
    return checked


def _render(result: BatchResult) -> Response:
    created = result.count(BatchOutcome.CREATED)
    body = {
        "TotalCount": result.total,
        "CreatedCount": created,
        "UpdatedCount": created + result.count(BatchOutcome.UPDATED),
        "UnchangedCount": result.count(BatchOutcome.UNCHANGED),
        "NotFoundCount": result.not_found,
        "ErrorCount": result.errors,
        "Items": [
            {
                "Index": item.index,
                "Id": item.case_id,
                "CaseNumber": item.case_number,
                "Result": item.outcome.value,
            }
            for item in result.applied
        ],
        "Errors": [
            {
                "Index": item.index,
                "Id": item.case_id,
                "Status": problems.status_of(item.error),
                "Title": item.error.title,
                "Detail": item.error.detail,
                "Errors": item.error.errors if isinstance(item.error, InvalidInput) else None,
            }
            for item in result.failed
        ],
    }
    return Response(orjson.dumps(body), media_type=JSON)


_COUNTS = (
    "`TotalCount` = `UpdatedCount` + `UnchangedCount` + `NotFoundCount` + `ErrorCount`. "
    "`Errors` lists every item not applied, by `Index`, with the problem the single-item "
    "endpoint would have answered (`Status`, `Title`, `Detail`, `Errors`). "
    f"More than {MAX_ITEMS:,} items, or a body that is not an array, is a 400 for the whole "
    "request."
)


@router.post(
    "/addmany",
    summary="Create many cases",
    description=(
        f"Creates up to {MAX_ITEMS:,} cases in one request, each by the rules of "
        "`POST /api/cases`; a bad item fails alone. Created cases are listed in `Items` with "
        "their `Id` and `CaseNumber`, and counted in `CreatedCount` and `UpdatedCount`. "
        "A client-chosen `Id` that is taken, or used by an earlier item, fails with 409. " + _COUNTS
    ),
    response_model=OmniumBatchResult,
    responses=_BATCH_ERRORS,
    openapi_extra={**_array_of(OmniumCaseCreate), **IDEMPOTENT},
)
async def add_many(
    items: Annotated[list[Any], _items([examples.CREATE, {"Id": "abc124", "Subject": "Refund"}])],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
) -> Response:
    checked = _validate_each(OmniumCaseCreate, items)
    result = await batch.add_many(session, actor=actor, items=checked)
    return await keep(request, session, _render(result))


@router.patch(
    "/patchmany",
    summary="Partially update many cases",
    description=(
        f"Applies up to {MAX_ITEMS:,} patches in one request, each by the rules of "
        "`PATCH /api/cases`, in order; a bad item fails alone. A patch that changes nothing "
        "counts in `UnchangedCount`; a missing, deleted or hidden case in `NotFoundCount` "
        "(and is listed in `Errors` with status 404). " + _COUNTS
    ),
    response_model=OmniumBatchResult,
    responses=_BATCH_ERRORS,
    openapi_extra={**_array_of(OmniumCasePatch), **IDEMPOTENT},
)
async def patch_many(
    items: Annotated[list[Any], _items([examples.PATCH, {"Id": "abc124", "Status": "Closed"}])],
    actor: CaseWriter,
    session: WriteSession,
    request: Request,
) -> Response:
    checked = _validate_each(OmniumCasePatch, items)
    result = await batch.patch_many(session, actor=actor, items=checked)
    return await keep(request, session, _render(result))
