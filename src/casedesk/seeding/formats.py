"""Generated cases turned into each backend's bulk-load rows (done in the generator process,
so the loading process only streams them). The primary key is left out: the loader puts
it in front once it has reserved the keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from casedesk.cases.models import CaseRow
from casedesk.seeding.generator import GeneratedCase

COLUMNS = tuple(column.name for column in CaseRow.__table__.columns if column.name != "pk")
JSON_COLUMNS = frozenset(
    column.name for column in CaseRow.__table__.columns if isinstance(column.type, sa.JSON)
)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _sqlite_value(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS:
        return orjson.dumps(value).decode()
    if isinstance(value, datetime):
        # The text form SQLAlchemy's SQLite DateTime type reads back.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def sqlite_rows(cases: list[GeneratedCase]) -> list[tuple[Any, ...]]:
    return [tuple(_sqlite_value(n, case.columns[n]) for n in COLUMNS) for case in cases]


def _copy_field(name: str, value: Any) -> str:
    if value is None:
        return "\\N"
    if name in JSON_COLUMNS:
        return orjson.dumps(value).decode().translate(_COPY_ESCAPES)
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def copy_lines(cases: list[GeneratedCase]) -> list[bytes]:
    """PostgreSQL COPY text lines, each starting with a tab that follows the primary key."""
    return [
        ("\t" + "\t".join(_copy_field(n, case.columns[n]) for n in COLUMNS) + "\n").encode()
        for case in cases
    ]


def ref_rows(cases: list[GeneratedCase]) -> list[tuple[int, int, str, str]]:
    """(index of the case in the batch, tenant, kind, value) for every reference."""
    return [
        (index, case.columns["tenant_id"], kind, value)
        for index, case in enumerate(cases)
        for kind, value in case.refs
    ]
