"""Scroll: every hit exactly once, in order, batch after batch; ids that expire and have owners."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.cases import search
from casedesk.cases.schemas import SortOrder
from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import ApiUser, UserFactory, run_in_transaction

SCROLL = "/api/cases/scroll"
SEARCH = "/api/cases/search"
PROBLEM_JSON = "application/problem+json"
SetClock = Callable[[str], None]

LEVEL = {"New": 10, "In Progress": 20, "Waiting for Customer": 30, "Resolved": 40, "Closed": 50}
SEVERITY = {"Low": 1, "Normal": 2, "High": 3, "Critical": 4}


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> SetClock:
    """Stop the clock at an ISO time; create users before calling it, or their tokens expire."""

    def set_to(moment: str) -> None:
        monkeypatch.setattr(clock, "now", lambda: clock.parse_utc(moment))

    return set_to


def later(moment: str, **delta: float) -> str:
    return (clock.parse_utc(moment) + timedelta(**delta)).isoformat() + "Z"


def start(user: ApiUser, **body: Any) -> dict[str, Any]:
    response = user.post(SCROLL, json=body)
    assert response.status_code == 200, response.text
    batch: dict[str, Any] = response.json()
    return batch


def next_batch(user: ApiUser, scroll_id: str) -> dict[str, Any]:
    response = user.get(f"{SCROLL}/{scroll_id}")
    assert response.status_code == 200, response.text
    batch: dict[str, Any] = response.json()
    return batch


def ids(batch: dict[str, Any]) -> list[str]:
    return [case["Id"] for case in batch["Items"]]


def read_all(user: ApiUser, **body: Any) -> tuple[list[str], int]:
    """Every Id a scroll returns, up to its first empty batch, and its TotalHits."""
    batch = start(user, **body)
    found, total, scroll_id = ids(batch), batch["TotalHits"], batch["ScrollId"]
    for _ in range(1000):
        batch = next_batch(user, scroll_id)
        assert batch["TotalHits"] == total
        assert batch["ScrollId"] == scroll_id
        if not batch["Items"]:
            return found, total
        found += ids(batch)
    raise AssertionError("the scroll never ended")


def searched_ids(user: ApiUser, **body: Any) -> list[str]:
    response = user.post(SEARCH, json={"Take": 100, **body})
    assert response.status_code == 200, response.text
    return [case["Id"] for case in response.json()["Items"]]


# --- every hit exactly once, in each of the 16 orders --------------------------------------

# Ties on every key (equal times, Subjects that differ only in case, equal names) and empty
# CustomerName, AssignedToName and FollowUpDate; Ids deliberately not in creation order.
DATASET: list[tuple[str, str, dict[str, Any]]] = [
    ("c05", "2026-03-01T09:00:00Z", {"Subject": "apple", "Status": "New", "Priority": "High",
                                     "CustomerName": "Dana", "AssignedToName": "amy",
                                     "FollowUpDate": "2026-04-01T09:00:00Z"}),
    ("c11", "2026-03-01T09:00:00Z", {"Subject": "Apple", "Status": "New", "Priority": "Low"}),
    ("c02", "2026-03-02T09:00:00Z", {"Subject": "banana", "Status": "Closed", "Priority": "High",
                                     "CustomerName": "dana",
                                     "FollowUpDate": "2026-04-01T09:00:00Z"}),
    ("c08", "2026-03-02T09:00:00Z", {"Subject": "cherry", "Status": "In Progress",
                                     "Priority": "Normal", "AssignedToName": "Amy"}),
    ("c01", "2026-03-03T09:00:00Z", {"Subject": "apple", "Status": "Closed",
                                     "Priority": "Critical", "CustomerName": "bob",
                                     "AssignedToName": "zed",
                                     "FollowUpDate": "2026-04-02T09:00:00Z"}),
    ("c09", "2026-03-03T09:00:00Z", {"Subject": "Banana", "Status": "Waiting for Customer",
                                     "Priority": "Normal"}),
    ("c04", "2026-03-04T09:00:00Z", {"Subject": "date", "Status": "In Progress",
                                     "Priority": "Low", "CustomerName": "Bob",
                                     "AssignedToName": "mia"}),
    ("c12", "2026-03-05T09:00:00Z", {"Subject": "date", "Status": "New", "Priority": "High",
                                     "FollowUpDate": "2026-04-02T09:00:00Z"}),
    ("c03", "2026-03-05T09:00:00Z", {"Subject": "elder", "Status": "Resolved",
                                     "Priority": "Normal", "CustomerName": "carl",
                                     "AssignedToName": "mia"}),
    ("c07", "2026-03-06T09:00:00Z", {"Subject": "fig", "Status": "New", "Priority": "Critical"}),
    ("c10", "2026-03-06T09:00:00Z", {"Subject": "Fig", "Status": "Closed", "Priority": "Low",
                                     "CustomerName": "Carl", "AssignedToName": "zed",
                                     "FollowUpDate": "2026-04-03T09:00:00Z"}),
    ("c06", "2026-03-07T09:00:00Z", {"Subject": "grape", "Status": "New", "Priority": "Normal"}),
]  # fmt: skip
# Later edits, so that Changed has its own order and its own ties.
TOUCHES = [("c05", "2026-03-10T09:00:00Z"), ("c10", "2026-03-10T09:00:00Z"),
           ("c02", "2026-03-11T09:00:00Z")]  # fmt: skip


@pytest.fixture
def dataset(admin: ApiUser, set_clock: SetClock) -> list[dict[str, Any]]:
    """The twelve cases as GET returns them."""
    for case_id, created, fields in DATASET:
        set_clock(created)
        admin.create_case(Id=case_id, **fields)
    for case_id, moment in TOUCHES:
        set_clock(moment)
        response = admin.patch("/api/cases", json={"Id": case_id, "Description": "Touched"})
        assert response.status_code == 200, response.text
    return [admin.get(f"/api/cases/{case_id}").json() for case_id, _, _ in DATASET]


def sort_value(case: dict[str, Any], field: str) -> Any:
    value = case[field]
    if field == "Status":
        return LEVEL[value]
    if field == "Priority":
        return SEVERITY[value]
    if field in ("Subject", "CustomerName", "AssignedToName") and value is not None:
        return value.lower()
    return value  # ISO times with a fixed width sort as the times do


def expected_order(cases: list[dict[str, Any]], sort_order: str) -> list[str]:
    """The order worked out independently: key, then Id, empty keys last in both directions."""
    descending = sort_order.endswith("Descending")
    field = sort_order.removesuffix("Descending").removesuffix("Ascending")
    filled = [case for case in cases if case[field] is not None]
    empty = [case for case in cases if case[field] is None]
    filled.sort(key=lambda case: (sort_value(case, field), case["Id"]), reverse=descending)
    empty.sort(key=lambda case: case["Id"], reverse=descending)
    return [case["Id"] for case in filled + empty]


@pytest.mark.parametrize("sort_order", [order.value for order in SortOrder])
def test_scroll_returns_every_hit_once_in_the_sort_order(
    admin: ApiUser, dataset: list[dict[str, Any]], sort_order: str
) -> None:
    found, total = read_all(admin, SortOrder=sort_order, Take=2)

    assert found == expected_order(dataset, sort_order)
    assert total == len(DATASET)


@pytest.mark.parametrize("sort_order", ["ChangedDescending", "FollowUpDateAscending"])
def test_scroll_agrees_with_search_whatever_the_batch_size(
    admin: ApiUser, dataset: list[dict[str, Any]], sort_order: str
) -> None:
    expected = searched_ids(admin, SortOrder=sort_order)
    for take in (1, 5, 12, 13):
        assert read_all(admin, SortOrder=sort_order, Take=take)[0] == expected


@pytest.mark.usefixtures("dataset")
def test_default_sort_is_created_descending(admin: ApiUser) -> None:
    assert read_all(admin, Take=5)[0] == searched_ids(admin, SortOrder="CreatedDescending")


@pytest.mark.usefixtures("dataset")
def test_scroll_applies_filters_as_search_does(admin: ApiUser) -> None:
    body = {"Status": "new", "Priority": "HIGH", "DateFrom": "2026-03-01T09:00:00Z"}

    found, total = read_all(admin, Take=1, SortOrder="SubjectAscending", **body)

    assert found == searched_ids(admin, SortOrder="SubjectAscending", **body) == ["c05", "c12"]
    assert total == 2


def test_scroll_applies_search_text_and_tags_as_search_does(admin: ApiUser) -> None:
    for number in range(1, 8):
        admin.create_case(
            Id=f"case-{number}",
            Subject=f"Parcel {number} damaged" if number % 2 else f"Parcel {number} late",
            Tags=["Shipping"] if number % 3 else ["Billing"],
        )
    body = {"SearchText": "DAMAGED parcel", "Tags": ["shipping"], "SortOrder": "SubjectAscending"}

    found, total = read_all(admin, Take=1, **body)

    assert found == searched_ids(admin, **body) == ["case-1", "case-5", "case-7"]
    assert total == 3


# --- the first batch, batch size, the end --------------------------------------------------


def test_the_first_batch_has_items_total_hits_and_a_scroll_id(admin: ApiUser) -> None:
    case = admin.create_case(Id="only-case")

    batch = start(admin)

    assert set(batch) == {"Items", "TotalHits", "ScrollId"}
    assert batch["Items"] == [case]
    assert batch["TotalHits"] == 1
    assert len(batch["ScrollId"]) >= 32


def test_scroll_ids_are_unguessable_and_never_repeat(admin: ApiUser) -> None:
    first, second = start(admin)["ScrollId"], start(admin)["ScrollId"]

    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)


def test_take_defaults_to_100(admin: ApiUser) -> None:
    for number in range(101):
        admin.create_case(Id=f"case-{number:03}")

    batch = start(admin, SortOrder="CreatedAscending")

    assert len(batch["Items"]) == 100
    assert ids(next_batch(admin, batch["ScrollId"])) == ["case-100"]


@pytest.mark.parametrize("take", [0, 1001, -1])
def test_take_outside_1_to_1000_is_a_400(admin: ApiUser, take: int) -> None:
    response = admin.post(SCROLL, json={"Take": take})

    assert response.status_code == 400
    assert "Take" in response.json()["errors"]


def test_take_may_be_1000(admin: ApiUser) -> None:
    assert start(admin, Take=1000)["Items"] == []


@pytest.mark.parametrize("name", ["Page", "page"])
@pytest.mark.parametrize("page", [0, 3])
def test_page_is_a_400(admin: ApiUser, name: str, page: int) -> None:
    response = admin.post(SCROLL, json={name: page})

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "Page does not apply" in response.json()["errors"]["Page"][0]


def test_a_null_page_means_no_page(admin: ApiUser) -> None:
    assert start(admin, Page=None)["TotalHits"] == 0


def test_an_unknown_status_is_a_400(admin: ApiUser) -> None:
    response = admin.post(SCROLL, json={"Status": "Nonexistent"})

    assert response.status_code == 400


def test_no_hits_give_an_empty_first_batch_with_total_hits_0(admin: ApiUser) -> None:
    admin.create_case(Subject="Parcel lost")

    batch = start(admin, SearchText="nothing matches this")

    assert (batch["Items"], batch["TotalHits"]) == ([], 0)
    assert next_batch(admin, batch["ScrollId"])["Items"] == []


def test_after_the_end_every_batch_is_empty(admin: ApiUser) -> None:
    admin.create_case(Id="only-case")
    scroll_id = start(admin, Take=1)["ScrollId"]

    assert next_batch(admin, scroll_id)["Items"] == []
    assert next_batch(admin, scroll_id)["Items"] == []


# --- cases created or changed while scrolling ----------------------------------------------


# New cases sort after the cursor in CreatedAscending, before it in CreatedDescending, and
# one on each side in SubjectAscending.
@pytest.mark.parametrize(
    "sort_order", ["CreatedAscending", "CreatedDescending", "SubjectAscending"]
)
def test_cases_created_during_the_scroll_are_not_returned(
    admin: ApiUser, set_clock: SetClock, sort_order: str
) -> None:
    set_clock("2026-03-01T09:00:00Z")
    for number in range(1, 5):
        admin.create_case(Id=f"case-{number}", Subject=f"m {number}")
    batch = start(admin, SortOrder=sort_order, Take=2)
    set_clock("2026-03-01T09:01:00Z")
    admin.create_case(Id="new-first", Subject="a new one")
    admin.create_case(Id="new-last", Subject="z new one")

    found = ids(batch)
    while items := ids(next_batch(admin, batch["ScrollId"])):
        found += items

    assert sorted(found) == ["case-1", "case-2", "case-3", "case-4"]
    assert batch["TotalHits"] == 4


def test_a_case_edited_during_the_scroll_comes_once_as_it_is_now(
    admin: ApiUser, set_clock: SetClock
) -> None:
    set_clock("2026-03-01T09:00:00Z")
    for number in range(1, 5):
        admin.create_case(Id=f"case-{number}", Subject=f"Case {number}")
    batch = start(admin, SortOrder="CreatedAscending", Take=2)
    set_clock("2026-03-01T09:01:00Z")
    for case_id in ("case-1", "case-4"):  # one already read, one not yet
        admin.patch("/api/cases", json={"Id": case_id, "Subject": "Edited", "Priority": "High"})

    rest = next_batch(admin, batch["ScrollId"])["Items"]

    assert ids(batch) + [case["Id"] for case in rest] == ["case-1", "case-2", "case-3", "case-4"]
    assert rest[-1]["Subject"] == "Edited"
    assert next_batch(admin, batch["ScrollId"])["Items"] == []


def test_a_case_deleted_before_the_scroll_reaches_it_is_not_returned(admin: ApiUser) -> None:
    for number in range(1, 5):
        admin.create_case(Id=f"case-{number}")
    batch = start(admin, SortOrder="CreatedAscending", Take=2)
    assert admin.delete("/api/cases/case-3").status_code == 200

    assert ids(next_batch(admin, batch["ScrollId"])) == ["case-4"]


# --- expiry and ownership ------------------------------------------------------------------

STARTED = "2026-03-01T09:00:00Z"


def test_a_scroll_expires_after_5_idle_minutes(admin: ApiUser, set_clock: SetClock) -> None:
    admin.create_case()
    set_clock(STARTED)
    scroll_id = start(admin, Take=1)["ScrollId"]
    set_clock(later(STARTED, minutes=5))

    response = admin.get(f"{SCROLL}/{scroll_id}")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON


def test_a_scroll_lives_just_under_5_idle_minutes(admin: ApiUser, set_clock: SetClock) -> None:
    set_clock(STARTED)
    scroll_id = start(admin)["ScrollId"]
    set_clock(later(STARTED, minutes=5, milliseconds=-1))

    assert next_batch(admin, scroll_id)["Items"] == []


def test_each_batch_restarts_the_idle_minutes(admin: ApiUser, set_clock: SetClock) -> None:
    for number in range(3):
        admin.create_case(Id=f"case-{number}")
    set_clock(STARTED)
    scroll_id = start(admin, Take=1, SortOrder="CreatedAscending")["ScrollId"]
    set_clock(later(STARTED, minutes=4))
    assert ids(next_batch(admin, scroll_id)) == ["case-1"]
    set_clock(later(STARTED, minutes=8))
    assert ids(next_batch(admin, scroll_id)) == ["case-2"]
    set_clock(later(STARTED, minutes=13))

    assert admin.get(f"{SCROLL}/{scroll_id}").status_code == 404


def scroll_count(database_url: str) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(sa.text("SELECT count(*) FROM case_scrolls"))).scalar())

    return run_in_transaction(database_url, count)


def test_starting_a_scroll_deletes_the_expired_ones(
    admin: ApiUser, set_clock: SetClock, database_url: str
) -> None:
    set_clock(STARTED)
    start(admin)
    start(admin)
    set_clock(later(STARTED, minutes=6))
    start(admin)

    assert scroll_count(database_url) == 1


def test_another_user_of_the_same_tenant_gets_404(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case()
    scroll_id = start(admin, Take=1)["ScrollId"]

    response = reader.get(f"{SCROLL}/{scroll_id}")

    assert response.status_code == 404
    assert response.json()["detail"] == (
        reader.get(f"{SCROLL}/no-such-scroll").json()["detail"].replace("no-such-scroll", scroll_id)
    )


def test_a_user_of_another_tenant_gets_404(admin: ApiUser, make_user: UserFactory) -> None:
    scroll_id = start(admin)["ScrollId"]

    outsider = make_user("CaseAdmin", tenant="acme")

    assert outsider.get(f"{SCROLL}/{scroll_id}").status_code == 404


def test_an_unknown_scroll_id_is_a_404(reader: ApiUser) -> None:
    response = reader.get(f"{SCROLL}/no-such-scroll")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON


def test_a_reader_may_scroll(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case(Id="case-1")
    admin.create_case(Id="case-2")

    assert read_all(reader, Take=1, SortOrder="CreatedAscending") == (["case-1", "case-2"], 2)


def test_a_market_scoped_user_scrolls_only_its_markets(
    admin: ApiUser, make_user: UserFactory
) -> None:
    for market in ("NO", "SE", "NO", "DK", None, "NO"):
        admin.create_case(MarketId=market)
    norwegian = make_user("CaseRead", markets=("NO",))

    found, total = read_all(norwegian, Take=1)

    assert total == 3
    assert {norwegian.get(f"/api/cases/{case_id}").json()["MarketId"] for case_id in found} == {
        "NO"
    }
    assert len(found) == 3


# --- the cost of a batch -------------------------------------------------------------------

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
A_TIME = datetime(2026, 3, 1, 9)
DEEP_KEYS: dict[str, Any] = {
    "Created": A_TIME, "Changed": A_TIME, "FollowUpDate": A_TIME, "Status": 30, "Priority": 2,
    "Subject": "parcel", "CustomerName": "carl", "AssignedToName": "mia",
}  # fmt: skip


def compiled(statement: sa.Select[Any], backend: str) -> str:
    return str(statement.compile(dialect=DIALECTS[backend], compile_kwargs={"literal_binds": True}))


def offsets(sql: str) -> list[str]:
    """What the SQL skips; SQLite's compiler writes OFFSET 0 after every LIMIT."""
    return [value for value in re.findall(r"\bOFFSET\s+(\S+)", sql) if value != "0"]


@pytest.mark.parametrize("backend", DIALECTS)
@pytest.mark.parametrize("sort_order", list(SortOrder))
def test_a_deep_batch_seeks_instead_of_skipping(backend: str, sort_order: SortOrder) -> None:
    criteria = search.Criteria(tenant_id=1, markets=None, words=("parcel",), last_pk=900_000)
    field = sort_order.removesuffix("Descending").removesuffix("Ascending")
    deep = search.Position(DEEP_KEYS[field], "case-9000")

    sql = compiled(search.keyset_query(criteria, backend, sort_order, deep, 100), backend)

    assert offsets(sql) == []
    assert "LIMIT 100" in sql
    assert "cases.id) >" in sql or "cases.id) <" in sql


@pytest.mark.parametrize("backend", DIALECTS)
def test_the_offset_check_sees_the_offset_of_paging(backend: str) -> None:
    criteria = search.Criteria(tenant_id=1, markets=None)
    statement = search.page_query(criteria, backend, SortOrder.CREATED_DESCENDING, 9_900, 100)

    assert offsets(compiled(statement, backend)) == ["9900"]


@pytest.mark.parametrize("backend", DIALECTS)
def test_a_batch_in_the_empty_keys_seeks_on_id_alone(backend: str) -> None:
    criteria = search.Criteria(tenant_id=1, markets=None)
    position = search.Position(None, "c07")

    sql = compiled(
        search.keyset_query(criteria, backend, SortOrder.FOLLOW_UP_DATE_DESCENDING, position, 5),
        backend,
    )

    assert "cases.follow_up_date IS NULL AND cases.id < 'c07'" in sql
    assert offsets(sql) == []


# --- the OpenAPI document ------------------------------------------------------------------


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings()).openapi()
    return document


@pytest.mark.parametrize(
    ("method", "path", "errors"),
    [
        ("post", "/api/cases/scroll", {"400", "401", "403", "413", "415", "429"}),
        ("get", "/api/cases/scroll/{scrollId}", {"400", "401", "403", "404", "429"}),
    ],
)
def test_the_document_describes_each_scroll_call(
    document: dict[str, Any], method: str, path: str, errors: set[str]
) -> None:
    responses = document["paths"][path][method]["responses"]

    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OmniumCaseScrollResult"
    }
    assert {code for code in responses if code != "200"} == errors
    for code in errors:
        assert responses[code]["content"] == {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }


def test_the_documented_scroll_request_has_no_page(document: dict[str, Any]) -> None:
    properties = document["components"]["schemas"]["OmniumCaseScrollRequest"]["properties"]

    assert "Page" not in properties
    assert properties["Take"]["anyOf"][0]["maximum"] == 1000
