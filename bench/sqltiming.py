"""The SQL of a search, run directly: the same statements the server builds (count, then the
page), timed on a plain blocking engine, to set against the HTTP latency."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from casedesk.cases import search
from casedesk.cases.schemas import OmniumCaseSearchRequest, SortOrder

MIN_REPETITIONS = 3
MAX_REPETITIONS = 200
DEFAULT_TAKE = 20


@dataclass(frozen=True)
class SqlTiming:
    p50_ms: float
    repetitions: int
    total_hits: int


def _statements(
    body: dict[str, Any], *, tenant_id: int, backend: str
) -> tuple[sa.Select[Any], sa.Select[Any], int]:
    request = OmniumCaseSearchRequest.model_validate(body)
    criteria = search.criteria_for(request, tenant_id=tenant_id, markets=None)
    take = request.take or DEFAULT_TAKE
    offset = (request.page or 0) * take
    sort = request.sort_order or SortOrder.CREATED_DESCENDING
    return (
        search.count_query(criteria, backend),
        search.page_query(criteria, backend, sort, offset, take),
        offset,
    )


def _once(
    connection: sa.Connection, count: sa.Select[Any], page: sa.Select[Any], offset: int
) -> int:
    total = int(connection.execute(count).scalar_one())
    if total > offset:
        connection.execute(page).all()
    return total


def time_search(
    engine: sa.Engine, body: dict[str, Any], *, tenant_id: int, budget_s: float
) -> SqlTiming:
    """Median of many runs (at least 3, at most 200, within about `budget_s`), after a warm-up."""
    count, page, offset = _statements(body, tenant_id=tenant_id, backend=engine.dialect.name)
    samples: list[float] = []
    with engine.connect() as connection:
        total = _once(connection, count, page, offset)
        connection.rollback()
        deadline = time.perf_counter() + budget_s
        while len(samples) < MAX_REPETITIONS and (
            len(samples) < MIN_REPETITIONS or time.perf_counter() < deadline
        ):
            started = time.perf_counter()
            _once(connection, count, page, offset)
            samples.append(time.perf_counter() - started)
            connection.rollback()
    return SqlTiming(statistics.median(samples) * 1000, len(samples), total)
