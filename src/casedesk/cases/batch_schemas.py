"""The answer of the batch endpoints (addmany, patchmany), as the OpenAPI document shows it."""

from __future__ import annotations

from casedesk.cases.batch import BatchOutcome
from casedesk.http.wire import WireModel


class OmniumBatchItem(WireModel):
    """An item that was applied: its place in the request, its case, and what happened."""

    index: int
    id: str
    case_number: str
    result: BatchOutcome


class OmniumBatchError(WireModel):
    """An item that was not applied, with the problem a single-item request would have answered."""

    index: int
    id: str | None = None
    status: int
    title: str
    detail: str | None = None
    errors: dict[str, list[str]] | None = None


class OmniumBatchResult(WireModel):
    """`TotalCount` = `UpdatedCount` + `UnchangedCount` + `NotFoundCount` + `ErrorCount`.
    Created cases count in `UpdatedCount` too; `CreatedCount` tells them apart."""

    total_count: int
    created_count: int
    updated_count: int
    unchanged_count: int
    not_found_count: int
    error_count: int
    items: list[OmniumBatchItem]
    errors: list[OmniumBatchError]
