"""Exact TotalHits counts read the partial indexes over live cases, not the table."""

from __future__ import annotations

import pytest

from casedesk.cases import search
from casedesk.cases.schemas import SortOrder
from casedesk.seeding import loader


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_cases_live"),
        ({"status": "New"}, "ix_cases_live_status"),
        ({"priority": "High"}, "ix_cases_live_priority"),
        ({"assigned_to_user_id": "agent-001"}, "ix_cases_live_assigned_to_user_id"),
    ],
)
def test_counting_live_cases_uses_a_live_index(
    database_url: str, filters: dict[str, str], index: str
) -> None:
    loader.seed(database_url, cases=50, seed=1)
    engine = loader.sync_engine(database_url)
    criteria = search.Criteria(tenant_id=1, markets=None, **filters)  # type: ignore[arg-type]
    with engine.connect() as connection:
        statement = search.count_query(criteria, connection.dialect.name)
        sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = connection.exec_driver_sql(f"EXPLAIN {sql}")
        else:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        text = " ".join(str(row) for row in plan)
    engine.dispose()
    assert index in text


@pytest.mark.parametrize("sort", list(SortOrder), ids=lambda sort: sort.value)
def test_every_sort_reads_an_index_in_order(database_url: str, sort: SortOrder) -> None:
    """A first page walks an index in the sort's order: no step sorts the whole table."""
    loader.seed(database_url, cases=50, seed=1)
    engine = loader.sync_engine(database_url)
    criteria = search.Criteria(tenant_id=1, markets=None)
    with engine.connect() as connection:
        backend = connection.dialect.name
        statement = search.page_query(criteria, backend, sort, offset=0, limit=20)
        sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        if backend == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            connection.exec_driver_sql("SET enable_sort = off")
            plan = connection.exec_driver_sql(f"EXPLAIN {sql}")
        else:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        text = " ".join(str(row) for row in plan)
    engine.dispose()
    assert "Index" in text or "INDEX" in text
    assert "Sort" not in text, text
    assert "TEMP B-TREE" not in text, text
