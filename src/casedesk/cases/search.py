"""The search query: filters, full-text matching and the 16 sort orders, as SQL.

SearchText words match as substrings, case-insensitively, in case number, subject,
description or customer name, each word within one field. Words of three or more
characters go through a trigram index (SQLite FTS5 with the trigram tokenizer, PostgreSQL
pg_trgm); shorter words cannot use a trigram and are matched against the rows the other
conditions leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import product
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import TextClause, UnaryExpression

from casedesk.cases.models import CaseRefRow, CaseRow
from casedesk.cases.schemas import SortOrder, _SearchFilters
from casedesk.errors import InvalidInput
from casedesk.storage.database import SEARCH_STATEMENT

# PostgreSQL's trigram index covers exactly PG_DOCUMENT (see the migration). Its columns are
# collated "C", whose lower() folds ASCII only, so a word with other letters is matched by
# that index on its ASCII letters and then checked against PG_TEXT lowered in the
# database's own collation. The space between fields can never be inside a word.
PG_TEXT = (
    "cases.case_number || ' ' || cases.subject || ' ' || coalesce(cases.description, '')"
    " || ' ' || coalesce(cases.customer_name, '')"
)
PG_DOCUMENT = f"lower({PG_TEXT})"
TRIGRAM = 3
# Every search statement runs under the search time limit (db.limit_searches).
_LIMITED = {SEARCH_STATEMENT: True}
MAX_WORDS = 32
TOO_MANY_WORDS = (
    f"SearchText may have at most {MAX_WORDS} words. A word repeated in any letter case, or "
    "contained in another word of the search, does not count."
)

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
    # A scroll's frozen set: only cases that existed when it started (pks only grow).
    last_pk: int | None = None


def criteria_for(
    request: _SearchFilters,
    *,
    tenant_id: int,
    markets: frozenset[str] | None,
    last_pk: int | None = None,
) -> Criteria:
    """The conditions a request asks for; its Status and Priority must be canonical names."""
    return Criteria(
        tenant_id=tenant_id,
        markets=markets,
        words=split_words(request.search_text),
        status=request.status,
        priority=request.priority,
        assigned_to_user_id=request.assigned_to_user_id,
        tags=tuple(request.tags or ()),
        customer_id=request.customer_id,
        order_id=request.order_id,
        date_from=request.date_from,
        date_to=request.date_to,
        include_deleted=bool(request.include_deleted),
        last_pk=last_pk,
    )


def split_words(search_text: str | None) -> tuple[str, ...]:
    """The words a search must match, each as first written: distinct case-insensitively, and
    without a word that is part of another (a field with the longer word has it too). More
    than MAX_WORDS of them is a 400: each costs the database a condition on every candidate."""
    if not search_text:
        return ()
    distinct: dict[str, str] = {}
    for word in search_text.split():
        distinct.setdefault(word.lower(), word)
    kept: list[str] = []
    for folded in sorted(distinct, key=len, reverse=True):
        if not any(folded in longer for longer in kept):
            kept.append(folded)
            if len(kept) > MAX_WORDS:
                raise InvalidInput({"SearchText": [TOO_MANY_WORDS]})
    chosen = set(kept)
    return tuple(word for folded, word in distinct.items() if folded in chosen)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ascii_lower_pattern(word: str) -> str:
    """A LIKE pattern for `word` in text whose ASCII letters alone are lower-cased."""
    return (
        "%" + "".join(_escape_like(char.lower()) if char.isascii() else "_" for char in word) + "%"
    )


def _fts_query(words: list[str]) -> str:
    return " AND ".join('"' + word.replace('"', '""') + '"' for word in words)


def _like_patterns(word: str) -> list[str]:
    """LIKE patterns that find a short word in any letter case: SQLite's LIKE folds ASCII
    letters itself, so only the other letters are spelled out in each of their cases."""
    spellings = [
        [char]
        if char.isascii()
        else sorted({c for c in (char, char.lower(), char.upper()) if len(c) == 1})
        for char in word
    ]
    return ["%" + _escape_like("".join(chars)) + "%" for chars in product(*spellings)]


def _has_ref(tenant_id: int, kind: str, value: str) -> ColumnElement[bool]:
    return CaseRow.pk.in_(
        select(CaseRefRow.case_pk).where(
            CaseRefRow.tenant_id == tenant_id, CaseRefRow.kind == kind, CaseRefRow.value == value
        )
    )


def _postgres_text_condition(word: str) -> ColumnElement[bool]:
    condition = literal_column(PG_DOCUMENT).like(_ascii_lower_pattern(word), escape="\\")
    if word.isascii():
        return condition
    text_in_database_collation: ColumnElement[str] = literal_column(
        f'({PG_TEXT}) COLLATE "default"'
    )
    exact = func.lower(text_in_database_collation).like(
        func.lower(literal("%" + _escape_like(word) + "%", String)), escape="\\"
    )
    return and_(condition, exact)


# Written out as SQL: for 32 words SQLAlchemy's expression objects cost 12-22 ms of the
# event loop to build, the text a tenth of that.
_SQLITE_FIELDS = ("cases.case_number", "cases.subject", "cases.description", "cases.customer_name")


def _sqlite_short_words_condition(words: list[str]) -> TextClause:
    """A trigram index cannot find a word of one or two characters: such words are looked
    for in the rows the other conditions leave, one LIKE per field and spelling (a single
    spelling for an ASCII word). Spelling every case variant out for instr() instead cost 16
    terms a word, and for 170 such words 0.7 s of the event loop to build and compile."""
    each_word: list[str] = []
    patterns: dict[str, str] = {}
    for i, word in enumerate(words):
        alternatives: list[str] = []
        for j, pattern in enumerate(_like_patterns(word)):
            name = f"short_{i}_{j}"
            patterns[name] = pattern
            alternatives += [f"{field} LIKE :{name} ESCAPE '\\'" for field in _SQLITE_FIELDS]
        each_word.append("(" + " OR ".join(alternatives) + ")")
    return text(" AND ".join(each_word)).bindparams(**patterns)


def _text_conditions(
    words: tuple[str, ...], backend: str
) -> list[ColumnElement[bool] | TextClause]:
    if backend == "postgresql":
        return [_postgres_text_condition(word) for word in words]
    conditions: list[ColumnElement[bool] | TextClause] = []
    long_words = [word for word in words if len(word) >= TRIGRAM]
    if long_words:
        conditions.append(
            CaseRow.pk.in_(
                select(literal_column("rowid"))
                .select_from(text("cases_fts"))
                .where(literal_column("cases_fts").op("MATCH")(_fts_query(long_words)))
            )
        )
    short_words = [word for word in words if len(word) < TRIGRAM]
    if short_words:
        conditions.append(_sqlite_short_words_condition(short_words))
    return conditions


def where_clause(criteria: Criteria, backend: str) -> ColumnElement[bool]:
    """Every condition a case must meet; an empty filter string filters nothing, as in Omnium."""
    conditions: list[ColumnElement[bool] | TextClause] = [CaseRow.tenant_id == criteria.tenant_id]
    if criteria.markets is not None:
        conditions.append(CaseRow.market_id.in_(sorted(criteria.markets)))
    if not criteria.include_deleted:
        conditions.append(CaseRow.deleted_date.is_(None))
    if criteria.status is not None:
        conditions.append(CaseRow.status == criteria.status)
    if criteria.priority is not None:
        conditions.append(CaseRow.priority == criteria.priority)
    if criteria.assigned_to_user_id:
        conditions.append(CaseRow.assigned_to_user_id == criteria.assigned_to_user_id)
    if criteria.date_from is not None:
        conditions.append(CaseRow.created >= criteria.date_from)
    if criteria.date_to is not None:
        conditions.append(CaseRow.created <= criteria.date_to)
    for tag in criteria.tags:
        conditions.append(_has_ref(criteria.tenant_id, REF_TAG, tag.lower()))
    if criteria.customer_id:
        conditions.append(_has_ref(criteria.tenant_id, REF_CUSTOMER, criteria.customer_id))
    if criteria.order_id:
        conditions.append(_has_ref(criteria.tenant_id, REF_ORDER, criteria.order_id))
    if criteria.last_pk is not None:
        conditions.append(CaseRow.pk <= criteria.last_pk)
    conditions.extend(_text_conditions(criteria.words, backend))
    return and_(*conditions)


# Each sort key, and whether it can be empty. NULLS LAST is spelled out only where it can:
# on a NOT NULL column PostgreSQL would not see that DESC NULLS LAST still fits the index.
_SORT_KEYS: dict[str, tuple[ColumnElement[Any] | InstrumentedAttribute[Any], bool]] = {
    "Created": (CaseRow.created, False),
    "Changed": (CaseRow.changed, False),
    "Status": (CaseRow.status_level, False),
    "Priority": (CaseRow.priority_severity, False),
    "Subject": (func.lower(CaseRow.subject), False),
    "CustomerName": (func.lower(CaseRow.customer_name), True),
    "AssignedToName": (func.lower(CaseRow.assigned_to_name), True),
    "FollowUpDate": (CaseRow.follow_up_date, True),
}


def _sort_parts(sort: SortOrder) -> tuple[ColumnElement[Any], bool, bool]:
    """The sort key, whether it can be empty, and whether the sort descends."""
    key, nullable = _SORT_KEYS[sort.value.removesuffix("Descending").removesuffix("Ascending")]
    return key.expression, nullable, sort.value.endswith("Descending")


def order_by(sort: SortOrder) -> list[UnaryExpression[Any]]:
    """The sort, with empty values last in both directions and ties broken on Id."""
    key, nullable, descending = _sort_parts(sort)
    primary = key.desc() if descending else key.asc()
    tiebreak = CaseRow.id.desc() if descending else CaseRow.id.asc()
    return [primary.nulls_last() if nullable else primary, tiebreak]


def page_query(
    criteria: Criteria, backend: str, sort: SortOrder, offset: int, limit: int
) -> Select[CaseRow]:
    return (
        select(CaseRow)
        .where(where_clause(criteria, backend))
        .order_by(*order_by(sort))
        .offset(offset)
        .limit(limit)
        .execution_options(**_LIMITED)
    )


def count_query(criteria: Criteria, backend: str) -> Select[int]:
    return (
        select(func.count())
        .select_from(CaseRow)
        .where(where_clause(criteria, backend))
        .execution_options(**_LIMITED)
    )


@dataclass(frozen=True)
class Position:
    """Where a keyset batch ended: the last hit's sort key (None when empty) and its Id."""

    key: Any
    case_id: str

    def to_json(self) -> dict[str, Any]:
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        return {"key": key, "id": self.case_id}

    @classmethod
    def from_json(cls, sort: SortOrder, data: dict[str, Any]) -> Position:
        key = data["key"]
        if key is not None and isinstance(_sort_parts(sort)[0].type, DateTime):
            key = datetime.fromisoformat(key)
        return cls(key, data["id"])


def sort_key(sort: SortOrder) -> ColumnElement[Any]:
    """The value a hit is sorted by, as the database compares it (lower-cased text is
    lower-cased by the database, so a position always compares the way the sort does)."""
    return _sort_parts(sort)[0]


def after(sort: SortOrder, position: Position) -> ColumnElement[bool]:
    """The hits that come after `position` in `sort`: empty keys form a region of their own,
    after every other key in both directions, ordered by Id alone."""
    key, nullable, descending = _sort_parts(sort)
    if position.key is None:
        later_id = CaseRow.id < position.case_id if descending else CaseRow.id > position.case_id
        return and_(key.is_(None), later_id)
    here = tuple_(key, CaseRow.id)
    there = tuple_(literal(position.key), literal(position.case_id))
    later = here < there if descending else here > there
    return or_(later, key.is_(None)) if nullable else later


def keyset_query(
    criteria: Criteria, backend: str, sort: SortOrder, position: Position | None, limit: int
) -> Select[tuple[CaseRow, Any]]:
    """The next `limit` hits after `position` (the first ones when None), each with its sort
    key. Seeking, never skipping: the cost of a batch does not grow with its depth."""
    statement = select(CaseRow, sort_key(sort)).where(where_clause(criteria, backend))
    if position is not None:
        statement = statement.where(after(sort, position))
    return statement.order_by(*order_by(sort)).limit(limit).execution_options(**_LIMITED)
