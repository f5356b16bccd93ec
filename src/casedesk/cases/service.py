"""Use cases on cases. They take plain inputs and an actor, raise domain errors, never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, overload

from pydantic.alias_generators import to_pascal
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth.policy import Actor, require_market
from casedesk.case_settings import repository as settings_repository
from casedesk.case_settings.rules import CaseRules, PriorityDef, StatusDef
from casedesk.cases import direct, lifecycle, repository, search
from casedesk.cases.errors import CaseIdTaken, CaseNotDeleted, CaseNotFound, CaseVersionMismatch
from casedesk.cases.models import CaseRow
from casedesk.cases.rendering import etag
from casedesk.cases.schemas import (
    MAX_PAGE_DEPTH,
    CommentType,
    OmniumCaseCreate,
    OmniumCasePatch,
    OmniumCaseReplace,
    OmniumCaseSearchRequest,
    OmniumComment,
    SortOrder,
    _CaseFields,
    _SearchFilters,
)
from casedesk.errors import InvalidInput

SCALAR_FIELDS = (
    "subject",
    "description",
    "source",
    "assigned_to_user_id",
    "assigned_to_name",
    "customer_id",
    "customer_name",
    "customer_email",
    "follow_up_date",
    "market_id",
    "market_group_id",
)
STRING_LIST_FIELDS = (
    "tags",
    "related_orders",
    "related_customers",
    "related_projects",
    "related_carts",
    "related_sku_ids",
    "related_product_ids",
)
OBJECT_LIST_FIELDS = ("participants", "properties")
NOTE_FIELDS = ("case_notes", "internal_notes")
# Fields a PATCH may clear through FieldsToForceNull, by lower-cased wire name.
CLEARABLE = {
    name.replace("_", ""): name
    for name in (*SCALAR_FIELDS, *STRING_LIST_FIELDS, *OBJECT_LIST_FIELDS)
    if name != "subject"
}
DEFAULT_TAKE = 20


def _new_id() -> str:
    return str(uuid.uuid4())


def etag_matches(if_match: str, row: CaseRow) -> bool:
    current = etag(row)
    for tag in if_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag == current:
            return True
    return False


@dataclass(frozen=True)
class _Before:
    """What a case looked like before a use case touched it."""

    values: tuple[Any, ...]
    refs: frozenset[tuple[str, str]]
    columns: dict[str, Any]


def remember(row: CaseRow) -> _Before:
    return _Before(_values(row), case_refs(row), direct.snapshot(row))


def _values(row: CaseRow) -> tuple[Any, ...]:
    return tuple(
        getattr(row, name)
        for name in (
            *SCALAR_FIELDS,
            *STRING_LIST_FIELDS,
            *OBJECT_LIST_FIELDS,
            *NOTE_FIELDS,
            "status",
            "priority",
            "deleted_date",
        )
    )


def case_refs(row: CaseRow) -> frozenset[tuple[str, str]]:
    """The (kind, value) pairs the search filters look the case up by."""
    refs = {(search.REF_TAG, tag.lower()) for tag in row.tags}
    refs |= {(search.REF_ORDER, order) for order in row.related_orders}
    refs |= {(search.REF_CUSTOMER, customer) for customer in row.related_customers}
    if row.customer_id:
        refs.add((search.REF_CUSTOMER, row.customer_id))
    return frozenset(refs)


def _note(comment: OmniumComment, kind: CommentType, moment: datetime) -> dict[str, Any]:
    return {
        "Id": comment.id or _new_id(),
        "Created": clock.format_utc(comment.created or moment),
        "Detail": comment.detail,
        "Title": comment.title,
        "Type": kind.value,
        "Creator": comment.creator,
        "UserId": comment.user_id,
        "CustomerId": comment.customer_id,
        "Tags": comment.tags or [],
        "ParentId": comment.parent_id,
    }


def _recount_comments(row: CaseRow, *, added: dict[str, Any] | None = None) -> None:
    """Derive the comment fields from the notes: the last comment has the latest Created. Of
    a tie, a note just `added` wins, then the current last comment (so a PUT that sends the
    notes back changes nothing), then the note listed last."""
    current = (clock.format_utc(row.last_comment_date), row.last_commenter_name)

    def rank(pair: tuple[int, dict[str, Any]]) -> tuple[str, int, int]:
        index, note = pair
        kept = (note["Created"], note["Creator"]) == current
        return note["Created"], 2 if note is added else 1 if kept else 0, index

    notes = [*row.case_notes, *row.internal_notes]
    row.comment_count = len(notes)
    latest = max(enumerate(notes), key=rank, default=None)
    row.last_comment_date = clock.parse_utc(latest[1]["Created"]) if latest else None
    row.last_commenter_name = latest[1]["Creator"] if latest else None


@overload
def _resolve_names(
    rules: CaseRules, *, status: str, priority: str
) -> tuple[StatusDef, PriorityDef]: ...
@overload
def _resolve_names(
    rules: CaseRules, *, status: str | None, priority: str | None
) -> tuple[StatusDef | None, PriorityDef | None]: ...
def _resolve_names(
    rules: CaseRules, *, status: str | None, priority: str | None
) -> tuple[StatusDef | None, PriorityDef | None]:
    """Look both names up at once, so a 400 names every unknown one, not just the first."""
    errors: dict[str, list[str]] = {}
    found_status = found_priority = None
    if status is not None:
        try:
            found_status = rules.status(status)
        except InvalidInput as error:
            errors.update(error.errors)
    if priority is not None:
        try:
            found_priority = rules.priority(priority)
        except InvalidInput as error:
            errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    return found_status, found_priority


def _set_status(row: CaseRow, target: StatusDef, rules: CaseRules, moment: datetime) -> None:
    state = lifecycle.StatusState(
        row.status, row.status_level, row.resolved_date, row.closed_date, tuple(row.status_log)
    )
    changed = lifecycle.change_status(state, target, rules, moment)
    if changed is not None:
        _apply_state(row, changed)


def _apply_state(row: CaseRow, state: lifecycle.StatusState) -> None:
    row.status = state.status
    row.status_level = state.level
    row.resolved_date = state.resolved_date
    row.closed_date = state.closed_date
    row.status_log = list(state.log)


def _set_priority(row: CaseRow, priority: PriorityDef) -> None:
    row.priority = priority.name
    row.priority_severity = priority.severity


def _write_fields(row: CaseRow, data: _CaseFields, moment: datetime) -> None:
    """Set every client-writable field from `data`; what it leaves out becomes null or empty."""
    for name in SCALAR_FIELDS:
        setattr(row, name, getattr(data, name))
    for name in STRING_LIST_FIELDS:
        setattr(row, name, list(getattr(data, name) or []))
    for name in OBJECT_LIST_FIELDS:
        setattr(row, name, [item.model_dump() for item in getattr(data, name) or []])
    row.case_notes = [_note(c, CommentType.PUBLIC, moment) for c in data.case_notes or []]
    row.internal_notes = [_note(c, CommentType.INTERNAL, moment) for c in data.internal_notes or []]
    _recount_comments(row)


async def write_rules(session: AsyncSession, actor: Actor) -> CaseRules:
    """The tenant's rules, held unchanged until this write commits."""
    await settings_repository.hold_rules(session, actor.tenant_id)
    return await settings_repository.get_rules(session, actor.tenant_id)


def _seen(actor: Actor, row: CaseRow | None, case_id: str) -> CaseRow:
    """The case if the actor may see it; missing and hidden look the same on purpose."""
    if row is None or not actor.can_see_market(row.market_id):
        raise CaseNotFound(case_id)
    return row


def editable(actor: Actor, row: CaseRow | None, case_id: str, if_match: str | None) -> CaseRow:
    """The loaded case if the actor may change it: visible, not deleted, `If-Match` current."""
    row = _seen(actor, row, case_id)
    if row.deleted_date is not None:
        raise CaseNotFound(case_id)
    if if_match is not None and not etag_matches(if_match, row):
        raise CaseVersionMismatch(case_id, etag(row))
    return row


async def _visible(db: direct.Direct, actor: Actor, case_id: str) -> CaseRow:
    """The case, locked for this write, if the actor may see it."""
    return _seen(
        actor, await direct.get_for_update(db, tenant_id=actor.tenant_id, case_id=case_id), case_id
    )


async def _editable(db: direct.Direct, actor: Actor, case_id: str, if_match: str | None) -> CaseRow:
    row = await direct.get_for_update(db, tenant_id=actor.tenant_id, case_id=case_id)
    return editable(actor, row, case_id, if_match)


def mark_changed(row: CaseRow, before: _Before, moment: datetime) -> bool:
    """Bump the version and Changed if something changed since `before`; whether it did."""
    if _values(row) == before.values:
        return False
    row.version += 1
    row.changed = moment
    return True


async def _save(db: direct.Direct, row: CaseRow, before: _Before, moment: datetime) -> None:
    """Save a change, if any, and keep the filter index true."""
    if not mark_changed(row, before, moment):
        return
    await direct.save(db, row, before.columns, refs_before=before.refs, refs_after=case_refs(row))


def visible_view(actor: Actor, view: Any, case_id: str) -> Any:
    """A case read on the fast path (repository.fetch_view_as), if the actor may see it: the
    same rules as everywhere (a deleted case or another market's is not found)."""
    if view is None or view.deleted_date is not None or not actor.can_see_market(view.market_id):
        raise CaseNotFound(case_id)
    return view


@dataclass(frozen=True)
class NewCasePlan:
    """A create that passed the rules: it only lacks an Id and a number."""

    data: OmniumCaseCreate
    status: StatusDef
    priority: PriorityDef


def plan_new_case(actor: Actor, rules: CaseRules, data: OmniumCaseCreate) -> NewCasePlan:
    require_market(actor, data.market_id)
    status, priority = _resolve_names(
        rules,
        status=data.status or rules.status_new,
        priority=data.priority or rules.default_priority,
    )
    return NewCasePlan(data, status, priority)


def build_case(
    actor: Actor, rules: CaseRules, plan: NewCasePlan, *, number: int | None, moment: datetime
) -> CaseRow:
    """The new case's row, not yet stored; the server picks the Id when the client did not.
    Without a number, the CaseNumber is left empty for the insert to set (PostgreSQL)."""
    row = CaseRow(
        tenant_id=actor.tenant_id,
        id=plan.data.id or _new_id(),
        case_number="" if number is None else f"{rules.number_prefix}{number}",
        version=1,
        priority=plan.priority.name,
        priority_severity=plan.priority.severity,
        created=moment,
        changed=moment,
    )
    _write_fields(row, plan.data, moment)
    _apply_state(row, lifecycle.initial_state(plan.status, rules, moment))
    return row


async def create_case(session: AsyncSession, *, actor: Actor, data: OmniumCaseCreate) -> CaseRow:
    db = await direct.open_direct(session)
    slot = await direct.new_case_slot(db, tenant_id=actor.tenant_id, case_id=data.id)
    plan = plan_new_case(actor, slot.rules, data)
    if data.id and slot.id_taken:
        raise CaseIdTaken(data.id)
    row = build_case(actor, slot.rules, plan, number=slot.number, moment=clock.now())
    if slot.pk is not None:
        row.pk = slot.pk
    try:
        await direct.insert(db, row, case_refs(row), number_prefix=slot.rules.number_prefix)
    except direct.IdTaken:
        raise CaseIdTaken(row.id) from None
    return row


async def replace_case(
    session: AsyncSession, *, actor: Actor, data: OmniumCaseReplace, if_match: str | None
) -> CaseRow:
    db = await direct.open_direct(session)
    rules, found = await direct.rules_and_case(db, tenant_id=actor.tenant_id, case_id=data.id)
    status, priority = _resolve_names(rules, status=data.status, priority=data.priority)
    row = editable(actor, found, data.id, if_match)
    require_market(actor, data.market_id)
    before = remember(row)
    moment = clock.now()
    _write_fields(row, data, moment)
    _set_priority(row, priority)
    _set_status(row, status, rules, moment)
    await _save(db, row, before, moment)
    return row


def _fields_to_clear(patch: OmniumCasePatch) -> list[str]:
    errors: list[str] = []
    fields: list[str] = []
    for wire_name in patch.fields_to_force_null or []:
        name = CLEARABLE.get(wire_name.lower())
        if name is None:
            errors.append(f"'{wire_name}' cannot be cleared. Clearable: {_clearable_names()}.")
        elif getattr(patch, name) is not None:
            errors.append(f"'{wire_name}' is both given a value and listed to be cleared.")
        else:
            fields.append(name)
    if errors:
        raise InvalidInput({"FieldsToForceNull": errors})
    return fields


def _clearable_names() -> str:
    return ", ".join(to_pascal(name) for name in CLEARABLE.values())


@dataclass(frozen=True)
class PatchPlan:
    """A PATCH that passed the rules that need no case: what to set, clear and move to."""

    patch: OmniumCasePatch
    to_clear: tuple[str, ...]
    status: StatusDef | None
    priority: PriorityDef | None


def plan_patch(rules: CaseRules, patch: OmniumCasePatch) -> PatchPlan:
    to_clear = _fields_to_clear(patch)
    status, priority = _resolve_names(rules, status=patch.status, priority=patch.priority)
    return PatchPlan(patch, tuple(to_clear), status, priority)


def apply_patch(
    row: CaseRow, plan: PatchPlan, *, actor: Actor, rules: CaseRules, moment: datetime
) -> None:
    """Apply only the non-null fields and the fields to clear. The market is checked before
    anything is set, so a refused PATCH leaves the row as it was."""
    patch, to_clear = plan.patch, plan.to_clear
    if patch.market_id is not None or "market_id" in to_clear:
        require_market(actor, patch.market_id)
    for name in SCALAR_FIELDS:
        value = getattr(patch, name, None)
        if value is not None:
            setattr(row, name, value)
    for name in STRING_LIST_FIELDS:
        value = getattr(patch, name)
        if value is not None:
            setattr(row, name, list(value))
    for name in OBJECT_LIST_FIELDS:
        value = getattr(patch, name)
        if value is not None:
            setattr(row, name, [item.model_dump() for item in value])
    for name in to_clear:
        setattr(row, name, [] if name in STRING_LIST_FIELDS or name in OBJECT_LIST_FIELDS else None)
    if plan.priority is not None:
        _set_priority(row, plan.priority)
    if plan.status is not None:
        _set_status(row, plan.status, rules, moment)


async def patch_case(
    session: AsyncSession, *, actor: Actor, patch: OmniumCasePatch, if_match: str | None
) -> CaseRow:
    db = await direct.open_direct(session)
    rules, found = await direct.rules_and_case(db, tenant_id=actor.tenant_id, case_id=patch.id)
    plan = plan_patch(rules, patch)
    row = editable(actor, found, patch.id, if_match)
    before = remember(row)
    moment = clock.now()
    apply_patch(row, plan, actor=actor, rules=rules, moment=moment)
    await _save(db, row, before, moment)
    return row


async def assign_case(
    session: AsyncSession,
    *,
    actor: Actor,
    case_id: str,
    user_id: str,
    user_name: str | None,
    if_match: str | None,
) -> CaseRow:
    db = await direct.open_direct(session)
    row = await _editable(db, actor, case_id, if_match)
    before = remember(row)
    row.assigned_to_user_id = user_id
    row.assigned_to_name = user_name
    await _save(db, row, before, clock.now())
    return row


async def change_status(
    session: AsyncSession, *, actor: Actor, case_id: str, status: str, if_match: str | None
) -> CaseRow:
    db = await direct.open_direct(session)
    rules, found = await direct.rules_and_case(db, tenant_id=actor.tenant_id, case_id=case_id)
    row = editable(actor, found, case_id, if_match)
    before = remember(row)
    moment = clock.now()
    _set_status(row, rules.status(status), rules, moment)
    await _save(db, row, before, moment)
    return row


async def add_comment(
    session: AsyncSession,
    *,
    actor: Actor,
    case_id: str,
    comment: OmniumComment,
    if_match: str | None,
) -> CaseRow:
    db = await direct.open_direct(session)
    row = await _editable(db, actor, case_id, if_match)
    before = remember(row)
    moment = clock.now()
    kind = comment.type or CommentType.INTERNAL
    note = _note(
        comment.model_copy(
            update={
                "id": None,
                "created": moment,
                "creator": comment.creator or actor.name,
                "user_id": comment.user_id or actor.client_id,
            }
        ),
        kind,
        moment,
    )
    if kind is CommentType.PUBLIC:
        row.case_notes = [*row.case_notes, note]
    else:
        row.internal_notes = [*row.internal_notes, note]
    _recount_comments(row, added=note)
    await _save(db, row, before, moment)
    return row


async def delete_case(
    session: AsyncSession, *, actor: Actor, case_id: str, if_match: str | None
) -> CaseRow:
    db = await direct.open_direct(session)
    row = await _editable(db, actor, case_id, if_match)
    before = remember(row)
    moment = clock.now()
    row.deleted_date = moment
    await _save(db, row, before, moment)
    return row


async def restore_case(
    session: AsyncSession, *, actor: Actor, case_id: str, if_match: str | None
) -> CaseRow:
    db = await direct.open_direct(session)
    row = await _visible(db, actor, case_id)
    if row.deleted_date is None:
        raise CaseNotDeleted(case_id)
    if if_match is not None and not etag_matches(if_match, row):
        raise CaseVersionMismatch(case_id, etag(row))
    before = remember(row)
    row.deleted_date = None
    await _save(db, row, before, clock.now())
    return row


def _paging(request: OmniumCaseSearchRequest) -> tuple[int, int]:
    page = request.page or 0
    take = request.take or DEFAULT_TAKE
    if page * take > MAX_PAGE_DEPTH:
        raise InvalidInput(
            {
                "Page": [
                    f"Page * Take may not pass {MAX_PAGE_DEPTH:,} (got {page} * {take}). "
                    "Use scroll to read further."
                ]
            }
        )
    return page, take


SearchRequest = TypeVar("SearchRequest", bound=_SearchFilters)


def canonical_names(request: SearchRequest, rules: CaseRules) -> SearchRequest:
    """The request with its Status and Priority spelled as the tenant's settings spell them."""
    return request.model_copy(
        update={
            "status": rules.status(request.status).name if request.status else None,
            "priority": rules.priority(request.priority).name if request.priority else None,
        }
    )


async def search_cases(
    session: AsyncSession, *, actor: Actor, request: OmniumCaseSearchRequest
) -> tuple[list[CaseRow], int, int, int]:
    """The page of matching cases, the exact total, and the page and take applied."""
    page, take = _paging(request)
    rules = await settings_repository.get_rules(session, actor.tenant_id)
    criteria = search.criteria_for(
        canonical_names(request, rules), tenant_id=actor.tenant_id, markets=actor.markets
    )
    rows, total = await repository.search_page(
        session,
        criteria,
        sort=request.sort_order or SortOrder.CREATED_DESCENDING,
        offset=page * take,
        limit=take,
    )
    return rows, total, page, take
