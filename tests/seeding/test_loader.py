"""Seeded cases are real cases: the API reads, validates and finds them on every backend."""

from __future__ import annotations

import pytest

from casedesk.cases.schemas import OmniumCase
from casedesk.seeding import loader
from tests.conftest import ApiUser

COUNT = 120


@pytest.fixture(params=["in batches", "in bulk"])
def seeded(request: pytest.FixtureRequest, database_url: str) -> str:
    """Seeded both ways: batch by batch into the indexes, and in bulk (indexes dropped and
    built again after the load), which a big seed into an empty database takes."""
    bulk_from = 1 if request.param == "in bulk" else loader.BULK_FROM
    loader.seed(database_url, cases=COUNT, seed=3, bulk_from=bulk_from)
    return database_url


def test_a_bulk_seed_leaves_exactly_the_indexes_it_found(database_url: str) -> None:
    engine = loader.sync_engine(database_url)
    with engine.connect() as connection:
        before = loader._secondary_indexes(connection)
    built: list[tuple[int, int]] = []
    loader.seed(
        database_url, cases=50, seed=4, bulk_from=1, indexes_built=lambda *d: built.append(d)
    )
    with engine.connect() as connection:
        after = loader._secondary_indexes(connection)
    engine.dispose()

    assert len(before) >= 15
    assert after == before
    assert built[0] == (0, len(before))
    assert built[-1] == (len(before), len(before))


def test_a_failed_bulk_seed_leaves_the_database_as_it_was(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = loader.sync_engine(database_url)
    with engine.connect() as connection:
        before = loader._secondary_indexes(connection)

    def broken(connection: object, batch: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_insert", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        loader.seed(database_url, cases=20, seed=5, bulk_from=1)
    with engine.connect() as connection:
        after = loader._secondary_indexes(connection)
        count = connection.exec_driver_sql("SELECT count(*) FROM cases").scalar_one()
    engine.dispose()

    assert after == before
    assert count == 0


def test_seeded_cases_are_valid_omnium_cases(seeded: str, admin: ApiUser) -> None:
    found = admin.post("/api/cases/search", json={"Take": 100}).json()

    assert found["TotalHits"] == COUNT
    for item in found["Items"]:
        OmniumCase.model_validate(item)
        assert admin.get(f"/api/cases/{item['Id']}").json() == item


def test_seeded_case_numbers_are_consecutive_and_new_cases_continue_after_them(
    seeded: str, admin: ApiUser
) -> None:
    numbers = set()
    for page in range(2):
        items = admin.post("/api/cases/search", json={"Take": 100, "Page": page}).json()["Items"]
        numbers |= {int(i["CaseNumber"].removeprefix("CS-")) for i in items}

    assert numbers == set(range(1001, 1001 + COUNT))
    assert admin.create_case()["CaseNumber"] == f"CS-{1001 + COUNT}"


def test_seeded_cases_are_found_by_text_tag_and_order(seeded: str, admin: ApiUser) -> None:
    sample = admin.post("/api/cases/search", json={"Take": 100}).json()["Items"]
    tagged = next(c for c in sample if c["Tags"] and c["RelatedOrders"])
    word = tagged["Subject"].split()[0]

    by_text = admin.post("/api/cases/search", json={"SearchText": word, "Take": 100}).json()
    by_tag = admin.post("/api/cases/search", json={"Tags": tagged["Tags"], "Take": 100}).json()
    by_order = admin.post(
        "/api/cases/search", json={"OrderId": tagged["RelatedOrders"][0], "Take": 100}
    ).json()

    for result in (by_text, by_tag, by_order):
        assert tagged["Id"] in {c["Id"] for c in result["Items"]}


def test_seeding_twice_adds_more_cases_without_clashes(seeded: str, admin: ApiUser) -> None:
    loader.seed(seeded, cases=30, seed=3)

    assert admin.post("/api/cases/search", json={}).json()["TotalHits"] == COUNT + 30


def test_seeding_an_unknown_tenant_fails_clearly(database_url: str) -> None:
    from casedesk.errors import NotFound

    with pytest.raises(NotFound, match="nowhere"):
        loader.seed(database_url, cases=5, tenant="nowhere")


def test_the_search_index_agrees_with_the_table_after_seeding(seeded: str) -> None:
    """The index, filled in bulk, finds exactly the rows a full scan finds."""
    engine = loader.sync_engine(seeded)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "INSERT INTO cases_fts(cases_fts) VALUES ('integrity-check')"
            )
            indexed = connection.exec_driver_sql(
                "SELECT count(*) FROM cases_fts WHERE cases_fts MATCH '\"ord\"'"
            ).scalar_one()
            scanned = connection.exec_driver_sql(
                "SELECT count(*) FROM cases WHERE instr(lower(case_number || ' ' || subject"
                " || ' ' || coalesce(description, '') || ' ' || coalesce(customer_name, '')),"
                " 'ord') > 0"
            ).scalar_one()
        else:
            document = (
                "lower(cases.case_number || ' ' || cases.subject || ' ' || "
                "coalesce(cases.description, '') || ' ' || coalesce(cases.customer_name, ''))"
            )
            count = f"SELECT count(*) FROM cases WHERE {document} LIKE '%%ord%%'"
            connection.exec_driver_sql("SET enable_seqscan = off")
            indexed = connection.exec_driver_sql(count).scalar_one()
            connection.exec_driver_sql("SET enable_seqscan = on")
            connection.exec_driver_sql("SET enable_bitmapscan = off")
            connection.exec_driver_sql("SET enable_indexscan = off")
            scanned = connection.exec_driver_sql(count).scalar_one()
    engine.dispose()
    assert indexed == scanned > 0
