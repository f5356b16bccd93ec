"""The Omnium wire models for cases: what clients send and what they get back."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from casedesk.case_settings.rules import DEFAULT_RULES
from casedesk.cases.models import ID_MAX, NAME_MAX, SUBJECT_MAX
from casedesk.http.wire import JSON_INTEGER, FilledText, Flag, StoredText, UtcDateTime, WireModel

DESCRIPTION_MAX = 100_000
NOTE_MAX = 100_000
SHORT_LIST_MAX = 200
NOTES_MAX = 1_000
MAX_TAKE = 100
MAX_PAGE_DEPTH = 10_000
DEFAULT_SCROLL_TAKE = 100
MAX_SCROLL_TAKE = 1_000

Name = Annotated[StoredText, Field(max_length=NAME_MAX)]
# Statuses and priorities are each tenant's own (PUT /api/cases/settings): the document shows
# the defaults as examples, never as an enum, which would make a tenant's own one look invalid.
DEFAULT_STATUSES = [status.name for status in DEFAULT_RULES.statuses]


def _setting_description(kind: str) -> str:
    return (
        f"One of the tenant's {kind}, in any letter case (GET /api/cases/settings lists them); "
        "the defaults are shown as examples."
    )


STATUS_DESCRIPTION = _setting_description("statuses")
StatusName = Annotated[
    StoredText,
    Field(max_length=NAME_MAX, description=STATUS_DESCRIPTION, examples=DEFAULT_STATUSES),
]
PriorityName = Annotated[
    StoredText,
    Field(
        max_length=NAME_MAX,
        description=_setting_description("priorities"),
        examples=[priority.name for priority in DEFAULT_RULES.priorities],
    ),
]
Ident = Annotated[StoredText, Field(max_length=ID_MAX)]
FilledIdent = Annotated[FilledText, Field(max_length=ID_MAX)]
Subject = Annotated[FilledText, Field(max_length=SUBJECT_MAX)]
Description = Annotated[StoredText, Field(max_length=DESCRIPTION_MAX)]
IdentList = Annotated[list[FilledIdent], Field(max_length=SHORT_LIST_MAX)]

CASE_SERVER_MANAGED = frozenset(
    name.lower()
    for name in (
        "CaseNumber",
        "CaseStatusLog",
        "Created",
        "Changed",
        "ResolvedDate",
        "ClosedDate",
        "LastCommentDate",
        "LastCommenterName",
        "CommentCount",
        "DeletedDate",
    )
)


class CommentType(StrEnum):
    PUBLIC = "Public"
    INTERNAL = "Internal"


def _enum_name(enum: type[StrEnum]) -> BeforeValidator:
    """Match an enum value case-insensitively, as ASP.NET's enum binding does."""
    lookup = {member.value.lower(): member.value for member in enum}

    def match(value: object) -> object:
        return lookup.get(value.lower(), value) if isinstance(value, str) else value

    return BeforeValidator(match)


class OmniumCaseParticipant(WireModel):
    name: Name | None = None
    email: Name | None = None
    customer_id: Ident | None = None
    role: Name | None = None


class OmniumPropertyItem(WireModel):
    key: Annotated[FilledText, Field(max_length=NAME_MAX)]
    value: Annotated[StoredText, Field(max_length=10_000)] | None = None
    key_group: Name | None = None
    value_type: Name | None = None


class OmniumComment(WireModel):
    """A note on a case. `Id` and `Created` are filled in by the server when absent."""

    id: Ident | None = None
    created: UtcDateTime | None = None
    detail: Annotated[FilledText, Field(max_length=NOTE_MAX)]
    title: Annotated[StoredText, Field(max_length=SUBJECT_MAX)] | None = None
    type: Annotated[CommentType, _enum_name(CommentType)] | None = None
    creator: Name | None = None
    user_id: Ident | None = None
    customer_id: Ident | None = None
    tags: IdentList | None = None
    parent_id: Ident | None = None


class OmniumCaseStatusLogItem(WireModel):
    status: str
    timestamp: datetime
    duration_since_previous_ms: int | None = None


class _CaseFields(WireModel):
    """Every client-writable field of a case."""

    server_managed: ClassVar[frozenset[str]] = CASE_SERVER_MANAGED

    subject: Subject
    description: Description | None = None
    status: StatusName | None = None
    priority: PriorityName | None = None
    source: Name | None = None
    assigned_to_user_id: Ident | None = None
    assigned_to_name: Name | None = None
    customer_id: Ident | None = None
    customer_name: Name | None = None
    customer_email: Name | None = None
    tags: IdentList | None = None
    related_orders: IdentList | None = None
    related_customers: IdentList | None = None
    related_projects: IdentList | None = None
    related_carts: IdentList | None = None
    related_sku_ids: IdentList | None = None
    related_product_ids: IdentList | None = None
    participants: (
        Annotated[list[OmniumCaseParticipant], Field(max_length=SHORT_LIST_MAX)] | None
    ) = None
    case_notes: Annotated[list[OmniumComment], Field(max_length=NOTES_MAX)] | None = None
    internal_notes: Annotated[list[OmniumComment], Field(max_length=NOTES_MAX)] | None = None
    properties: Annotated[list[OmniumPropertyItem], Field(max_length=SHORT_LIST_MAX)] | None = None
    follow_up_date: UtcDateTime | None = None
    market_id: Ident | None = None
    market_group_id: Ident | None = None


# Path segments under /api/cases that would shadow a case with that Id.
RESERVED_IDS = frozenset({"settings", "search", "scroll", "addmany", "patchmany"})


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


# The reserved ids as a regular expression in any letter case, spelled without flags: the
# OpenAPI document states it (JSON Schema patterns have none) and routing excludes it.
RESERVED_ID_WORDS = "|".join(_any_case(word) for word in sorted(RESERVED_IDS))
NOT_RESERVED: dict[str, Any] = {"not": {"pattern": f"^(?:{RESERVED_ID_WORDS})$"}}


# RFC 9110's If-Match: `*`, or a comma-separated list of entity tags such as "3" or W/"3".
_ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e]*"'
IF_MATCH_PATTERN = rf"^(?:\*|{_ENTITY_TAG}(?: *, *{_ENTITY_TAG})*)$"
_IF_MATCH = re.compile(IF_MATCH_PATTERN)


def _well_formed_if_match(value: str) -> str:
    if not _IF_MATCH.match(value):
        raise PydanticCustomError(
            "if_match",
            'If-Match must be * or a list of quoted entity tags, such as "3" or "3", "4".',
        )
    return value


IfMatchValue = Annotated[
    str,
    Field(max_length=200, json_schema_extra={"pattern": IF_MATCH_PATTERN}),
    AfterValidator(_well_formed_if_match),
]


def _not_reserved(value: str) -> str:
    if value.lower() in RESERVED_IDS:
        raise PydanticCustomError(
            "reserved_id",
            "'{value}' is reserved by the API and cannot be a case Id.",
            {"value": value},
        )
    return value


class OmniumCaseCreate(_CaseFields):
    """A new case. `Status` defaults to the tenant's StatusNew, `Priority` to DefaultPriority."""

    id: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=ID_MAX,
                pattern=r"^[A-Za-z0-9._~:@-]+$",
                json_schema_extra=NOT_RESERVED,
            ),
            AfterValidator(_not_reserved),
        ]
        | None
    ) = None


class OmniumCaseReplace(_CaseFields):
    """A full replacement: every field left out becomes null or empty."""

    id: FilledIdent
    status: StatusName
    priority: PriorityName


class OmniumCasePatch(WireModel):
    """A partial update: only non-null fields are applied; lists sent replace the list."""

    server_managed: ClassVar[frozenset[str]] = CASE_SERVER_MANAGED

    id: FilledIdent
    subject: Subject | None = None
    description: Description | None = None
    status: StatusName | None = None
    priority: PriorityName | None = None
    source: Name | None = None
    assigned_to_user_id: Ident | None = None
    assigned_to_name: Name | None = None
    customer_name: Name | None = None
    customer_email: Name | None = None
    customer_id: Ident | None = None
    tags: IdentList | None = None
    related_orders: IdentList | None = None
    related_customers: IdentList | None = None
    related_projects: IdentList | None = None
    related_carts: IdentList | None = None
    related_sku_ids: IdentList | None = None
    related_product_ids: IdentList | None = None
    participants: (
        Annotated[list[OmniumCaseParticipant], Field(max_length=SHORT_LIST_MAX)] | None
    ) = None
    properties: Annotated[list[OmniumPropertyItem], Field(max_length=SHORT_LIST_MAX)] | None = None
    follow_up_date: UtcDateTime | None = None
    market_id: Ident | None = None
    market_group_id: Ident | None = None
    fields_to_force_null: (
        Annotated[list[Annotated[StoredText, Field(max_length=100)]], Field(max_length=50)] | None
    ) = None


class OmniumCase(WireModel):
    """The full case, as GET and search return it."""

    id: str
    case_number: str
    subject: str
    description: str | None = None
    status: str
    priority: str
    source: str | None = None
    assigned_to_user_id: str | None = None
    assigned_to_name: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    tags: list[str]
    related_orders: list[str]
    related_customers: list[str]
    related_projects: list[str]
    related_carts: list[str]
    related_sku_ids: list[str]
    related_product_ids: list[str]
    participants: list[OmniumCaseParticipant]
    case_notes: list[OmniumComment]
    internal_notes: list[OmniumComment]
    properties: list[OmniumPropertyItem]
    case_status_log: list[OmniumCaseStatusLogItem]
    follow_up_date: datetime | None = None
    resolved_date: datetime | None = None
    closed_date: datetime | None = None
    last_comment_date: datetime | None = None
    last_commenter_name: str | None = None
    comment_count: int
    created: datetime
    changed: datetime
    market_id: str | None = None
    market_group_id: str | None = None
    deleted_date: datetime | None = None


class SortOrder(StrEnum):
    CREATED_ASCENDING = "CreatedAscending"
    CREATED_DESCENDING = "CreatedDescending"
    CHANGED_ASCENDING = "ChangedAscending"
    CHANGED_DESCENDING = "ChangedDescending"
    STATUS_ASCENDING = "StatusAscending"
    STATUS_DESCENDING = "StatusDescending"
    PRIORITY_ASCENDING = "PriorityAscending"
    PRIORITY_DESCENDING = "PriorityDescending"
    SUBJECT_ASCENDING = "SubjectAscending"
    SUBJECT_DESCENDING = "SubjectDescending"
    CUSTOMER_NAME_ASCENDING = "CustomerNameAscending"
    CUSTOMER_NAME_DESCENDING = "CustomerNameDescending"
    ASSIGNED_TO_NAME_ASCENDING = "AssignedToNameAscending"
    ASSIGNED_TO_NAME_DESCENDING = "AssignedToNameDescending"
    FOLLOW_UP_DATE_ASCENDING = "FollowUpDateAscending"
    FOLLOW_UP_DATE_DESCENDING = "FollowUpDateDescending"


class _SearchFilters(WireModel):
    """What a search selects and in which order: everything but the paging."""

    search_text: Annotated[StoredText, Field(max_length=500)] | None = None
    status: StatusName | None = None
    priority: PriorityName | None = None
    assigned_to_user_id: Ident | None = None
    tags: Annotated[list[FilledIdent], Field(max_length=20)] | None = None
    customer_id: Ident | None = None
    order_id: Ident | None = None
    date_from: UtcDateTime | None = None
    date_to: UtcDateTime | None = None
    sort_order: Annotated[SortOrder, _enum_name(SortOrder)] | None = None
    include_deleted: Flag | None = None


class OmniumCaseSearchRequest(_SearchFilters):
    page: (
        Annotated[
            int,
            Field(
                ge=0,
                description=f"Zero-based; Page * Take may not pass {MAX_PAGE_DEPTH:,}.",
                # Stated for clients; the server's Page * Take rule (service.py) refuses a
                # larger Page with its hint to use scroll.
                json_schema_extra={"maximum": MAX_PAGE_DEPTH},
            ),
            JSON_INTEGER,
        ]
        | None
    ) = None
    take: Annotated[int, Field(ge=1, le=MAX_TAKE), JSON_INTEGER] | None = None


def _no_page(value: object) -> None:
    if value is not None:
        raise PydanticCustomError(
            "scroll_page",
            "A scroll reads every hit, batch after batch: Page does not apply. "
            "Take sets the batch size.",
        )
    return None


class OmniumCaseScrollRequest(_SearchFilters):
    """A search to read in full: `Take` is the batch size (default 100, at most 1,000)."""

    take: Annotated[int, Field(ge=1, le=MAX_SCROLL_TAKE), JSON_INTEGER] | None = None
    # Accepted by name only to answer a clear 400; not part of the documented model.
    page: Annotated[SkipJsonSchema[None], BeforeValidator(_no_page)] = None


class OmniumCaseSearchResult(WireModel):
    items: list[OmniumCase]
    total_hits: int
    page: int
    page_size: int


class OmniumCaseScrollResult(WireModel):
    """One batch of a scroll; an empty `Items` means the scroll has been read to the end."""

    items: list[OmniumCase]
    total_hits: int
    scroll_id: str
