"""Use cases on cases. They take plain inputs and an actor, raise domain errors, never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from pydantic.alias_generators import to_pascal
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth.policy import Actor, require_market
from casedesk.case_settings import repository as settings_repository
from casedesk.case_settings.rules import CaseRules, PriorityDef, StatusDef
from casedesk.cases import lifecycle, repository, search
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


def _remember(row: CaseRow) -> _Before:
    return _Before(_values(row), _refs(row))


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


def _refs(row: CaseRow) -> frozenset[tuple[str, str]]:
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
    """Derive the comment fields from the notes; a note just `added` wins a tie on Created."""
    notes = [*row.case_notes, *row.internal_notes]
    row.comment_count = len(notes)
    latest = max(notes, key=lambda note: (note["Created"], note is added), default=None)
    row.last_comment_date = clock.parse_utc(latest["Created"]) if latest else None
    row.last_commenter_name = latest["Creator"] if latest else None


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


async def _rules(session: AsyncSession, actor: Actor) -> CaseRules:
    """The tenant's rules, held unchanged until this write commits."""
    await settings_repository.hold_rules(session, actor.tenant_id)
    return await settings_repository.get_rules(session, actor.tenant_id)


async def _visible(session: AsyncSession, actor: Actor, case_id: str, *, lock: bool) -> CaseRow:
    """The case if the actor may see it; missing and hidden look the same on purpose."""
    load = repository.get_for_update if lock else repository.get
    row = await load(session, tenant_id=actor.tenant_id, case_id=case_id)
    if row is None or not actor.can_see_market(row.market_id):
        raise CaseNotFound(case_id)
    return row


async def _editable(
    session: AsyncSession, actor: Actor, case_id: str, if_match: str | None
) -> CaseRow:
    row = await _visible(session, actor, case_id, lock=True)
    if row.deleted_date is not None:
        raise CaseNotFound(case_id)
    if if_match is not None and not etag_matches(if_match, row):
        raise CaseVersionMismatch(case_id, etag(row))
    return row


async def _save(session: AsyncSession, row: CaseRow, before: _Before, moment: datetime) -> None:
    """Bump the version and Changed when something changed, and keep the filter index true."""
    if _values(row) == before.values:
        return
    row.version += 1
    row.changed = moment
    await session.flush()
    refs = _refs(row)
    if refs != before.refs:
        await repository.replace_refs(session, row=row, refs=refs)


async def get_case(session: AsyncSession, *, actor: Actor, case_id: str) -> CaseRow:
    row = await _visible(session, actor, case_id, lock=False)
    if row.deleted_date is not None:
        raise CaseNotFound(case_id)
    return row


async def create_case(session: AsyncSession, *, actor: Actor, data: OmniumCaseCreate) -> CaseRow:
    require_market(actor, data.market_id)
    rules = await _rules(session, actor)
    status, priority = _resolve_names(
        rules,
        status=data.status or rules.status_new,
        priority=data.priority or rules.default_priority,
    )
    case_id = data.id or _new_id()
    if data.id and await repository.id_exists(session, tenant_id=actor.tenant_id, case_id=case_id):
        raise CaseIdTaken(case_id)
    moment = clock.now()
    number = await repository.next_case_number(session, tenant_id=actor.tenant_id)
    row = CaseRow(
        tenant_id=actor.tenant_id,
        id=case_id,
        case_number=f"{rules.number_prefix}{number}",
        version=1,
        priority=priority.name,
        priority_severity=priority.severity,
        created=moment,
        changed=moment,
    )
    _write_fields(row, data, moment)
    _apply_state(row, lifecycle.initial_state(status, rules, moment))
    try:
        async with session.begin_nested():
            await repository.add(session, row)
    except IntegrityError:
        raise CaseIdTaken(case_id) from None
    await repository.replace_refs(session, row=row, refs=_refs(row))
    return row


async def replace_case(
    session: AsyncSession, *, actor: Actor, data: OmniumCaseReplace, if_match: str | None
) -> CaseRow:
    rules = await _rules(session, actor)
    status, priority = _resolve_names(rules, status=data.status, priority=data.priority)
    row = await _editable(session, actor, data.id, if_match)
    require_market(actor, data.market_id)
    before = _remember(row)
    moment = clock.now()
    _write_fields(row, data, moment)
    _set_priority(row, priority)
    _set_status(row, status, rules, moment)
    await _save(session, row, before, moment)
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


async def patch_case(
    session: AsyncSession, *, actor: Actor, patch: OmniumCasePatch, if_match: str | None
) -> CaseRow:
    to_clear = _fields_to_clear(patch)
    rules = await _rules(session, actor)
    status, priority = _resolve_names(rules, status=patch.status, priority=patch.priority)
    row = await _editable(session, actor, patch.id, if_match)
    before = _remember(row)
    moment = clock.now()
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
    if patch.market_id is not None or "market_id" in to_clear:
        require_market(actor, row.market_id)
    if priority is not None:
        _set_priority(row, priority)
    if status is not None:
        _set_status(row, status, rules, moment)
    await _save(session, row, before, moment)
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
    row = await _editable(session, actor, case_id, if_match)
    before = _remember(row)
    row.assigned_to_user_id = user_id
    row.assigned_to_name = user_name
    await _save(session, row, before, clock.now())
    return row


async def change_status(
    session: AsyncSession, *, actor: Actor, case_id: str, status: str, if_match: str | None
) -> CaseRow:
    rules = await _rules(session, actor)
    row = await _editable(session, actor, case_id, if_match)
    before = _remember(row)
    moment = clock.now()
    _set_status(row, rules.status(status), rules, moment)
    await _save(session, row, before, moment)
    return row


async def add_comment(
    session: AsyncSession,
    *,
    actor: Actor,
    case_id: str,
    comment: OmniumComment,
    if_match: str | None,
) -> CaseRow:
    row = await _editable(session, actor, case_id, if_match)
    before = _remember(row)
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
    await _save(session, row, before, moment)
    return row


async def delete_case(
    session: AsyncSession, *, actor: Actor, case_id: str, if_match: str | None
) -> CaseRow:
    row = await _editable(session, actor, case_id, if_match)
    before = _remember(row)
    moment = clock.now()
    row.deleted_date = moment
    await _save(session, row, before, moment)
    return row


async def restore_case(
    session: AsyncSession, *, actor: Actor, case_id: str, if_match: str | None
) -> CaseRow:
    row = await _visible(session, actor, case_id, lock=True)
    if row.deleted_date is None:
        raise CaseNotDeleted(case_id)
    if if_match is not None and not etag_matches(if_match, row):
        raise CaseVersionMismatch(case_id, etag(row))
    before = _remember(row)
    row.deleted_date = None
    await _save(session, row, before, clock.now())
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


async def search_cases(
    session: AsyncSession, *, actor: Actor, request: OmniumCaseSearchRequest
) -> tuple[list[CaseRow], int, int, int]:
    """The page of matching cases, the exact total, and the page and take applied."""
    page, take = _paging(request)
    rules = await settings_repository.get_rules(session, actor.tenant_id)
    criteria = search.Criteria(
        tenant_id=actor.tenant_id,
        markets=actor.markets,
        words=search.split_words(request.search_text),
        status=rules.status(request.status).name if request.status else None,
        priority=rules.priority(request.priority).name if request.priority else None,
        assigned_to_user_id=request.assigned_to_user_id,
        tags=tuple(request.tags or ()),
        customer_id=request.customer_id,
        order_id=request.order_id,
        date_from=request.date_from,
        date_to=request.date_to,
        include_deleted=bool(request.include_deleted),
    )
    rows, total = await repository.search_page(
        session,
        criteria,
        sort=request.sort_order or SortOrder.CREATED_DESCENDING,
        offset=page * take,
        limit=take,
    )
    return rows, total, page, take
