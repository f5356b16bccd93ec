"""The search query: filters, full-text matching and the 16 sort orders, as SQL.

SearchText words match as substrings, case-insensitively, in case number, subject,
description and customer name. Words of three or more characters go through a trigram
index (SQLite FTS5 with the trigram tokenizer, PostgreSQL pg_trgm); shorter words cannot
use a trigram and are matched with LIKE against the rows the other conditions leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, text
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import UnaryExpression

from casedesk.cases.models import CaseRefRow, CaseRow
from casedesk.cases.schemas import SortOrder

# The text PostgreSQL's trigram index covers; the migration builds the index on exactly this.
PG_DOCUMENT = (
    "lower(cases.case_number || ' ' || cases.subject || ' ' || coalesce(cases.description, '')"
    " || ' ' || coalesce(cases.customer_name, ''))"
)
TRIGRAM = 3

REF_TAG = "t"
REF_ORDER = "o"
REF_CUSTOMER = "c"


@dataclass(frozen=True)
class Criteria:
    tenant_id: int
    markets: frozenset[str] | None
    words: tuple[str, ...] = ()
    status: str | None = None
    priority: str | None = None
    assigned_to_user_id: str | None = None
    tags: tuple[str, ...] = ()
    customer_id: str | None = None
    order_id: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    include_deleted: bool = False


def split_words(search_text: str | None) -> tuple[str, ...]:
    if not search_text:
        return ()
    return tuple(dict.fromkeys(word.lower() for word in search_text.split()))


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_query(words: list[str]) -> str:
    return " AND ".join('"' + word.replace('"', '""') + '"' for word in words)


def _has_ref(tenant_id: int, kind: str, value: str) -> ColumnElement[bool]:
    return CaseRow.pk.in_(
        select(CaseRefRow.case_pk).where(
            CaseRefRow.tenant_id == tenant_id, CaseRefRow.kind == kind, CaseRefRow.value == value
        )
    )


def _text_conditions(criteria: Criteria, backend: str) -> list[ColumnElement[bool]]:
    long_words = [w for w in criteria.words if len(w) >= TRIGRAM]
    short_words = [w for w in criteria.words if len(w) < TRIGRAM]
    conditions: list[ColumnElement[bool]] = []
    if backend == "postgresql":
        document: ColumnElement[str] = literal_column(PG_DOCUMENT)
        for word in criteria.words:
            conditions.append(document.like(_like_pattern(word), escape="\\"))
        return conditions
    if long_words:
        conditions.append(
            CaseRow.pk.in_(
                select(literal_column("rowid"))
                .select_from(text("cases_fts"))
                .where(literal_column("cases_fts").op("MATCH")(_fts_query(long_words)))
            )
        )
    columns = (CaseRow.case_number, CaseRow.subject, CaseRow.description, CaseRow.customer_name)
    for word in short_words:
        pattern = _like_pattern(word)
        conditions.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in columns)))
    return conditions


def where_clause(criteria: Criteria, backend: str) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [CaseRow.tenant_id == criteria.tenant_id]
    if criteria.markets is not None:
        conditions.append(CaseRow.market_id.in_(sorted(criteria.markets)))
    if not criteria.include_deleted:
        conditions.append(CaseRow.deleted_date.is_(None))
    if criteria.status is not None:
        conditions.append(CaseRow.status == criteria.status)
    if criteria.priority is not None:
        conditions.append(CaseRow.priority == criteria.priority)
    if criteria.assigned_to_user_id is not None:
        conditions.append(CaseRow.assigned_to_user_id == criteria.assigned_to_user_id)
    if criteria.date_from is not None:
        conditions.append(CaseRow.created >= criteria.date_from)
    if criteria.date_to is not None:
        conditions.append(CaseRow.created <= criteria.date_to)
    for tag in criteria.tags:
        conditions.append(_has_ref(criteria.tenant_id, REF_TAG, tag.lower()))
    if criteria.customer_id is not None:
        conditions.append(_has_ref(criteria.tenant_id, REF_CUSTOMER, criteria.customer_id))
    if criteria.order_id is not None:
        conditions.append(_has_ref(criteria.tenant_id, REF_ORDER, criteria.order_id))
    conditions.extend(_text_conditions(criteria, backend))
    return and_(*conditions)


_SORT_KEYS: dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]] = {
    "Created": CaseRow.created,
    "Changed": CaseRow.changed,
    "Status": CaseRow.status_level,
    "Priority": CaseRow.priority_severity,
    "Subject": func.lower(CaseRow.subject),
    "CustomerName": func.lower(CaseRow.customer_name),
    "AssignedToName": func.lower(CaseRow.assigned_to_name),
    "FollowUpDate": CaseRow.follow_up_date,
}


def order_by(sort: SortOrder) -> list[UnaryExpression[Any]]:
    """The sort, with empty values last in both directions and ties broken on Id."""
    descending = sort.value.endswith("Descending")
    key = _SORT_KEYS[sort.value.removesuffix("Descending").removesuffix("Ascending")]
    primary = key.desc() if descending else key.asc()
    tiebreak = CaseRow.id.desc() if descending else CaseRow.id.asc()
    return [primary.nulls_last(), tiebreak]


def page_query(
    criteria: Criteria, backend: str, sort: SortOrder, offset: int, limit: int
) -> Select[CaseRow]:
    return (
        select(CaseRow)
        .where(where_clause(criteria, backend))
        .order_by(*order_by(sort))
        .offset(offset)
        .limit(limit)
    )


def count_query(criteria: Criteria, backend: str) -> Select[int]:
    return select(func.count()).select_from(CaseRow).where(where_clause(criteria, backend))
