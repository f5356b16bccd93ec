"""Search checked against a plain Python model of its rules, over random requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casedesk import clock
from tests.conftest import ApiUser, UserFactory

SEARCH = "/api/cases/search"
LEVELS = {"New": 10, "In Progress": 20, "Waiting for Customer": 30, "Resolved": 40, "Closed": 50}
SEVERITIES = {"Low": 1, "Normal": 2, "High": 3, "Critical": 4}
SORT_KEYS = (
    "Created",
    "Changed",
    "Status",
    "Priority",
    "Subject",
    "CustomerName",
    "AssignedToName",
    "FollowUpDate",
)
TEXT_FIELDS = ("CaseNumber", "Subject", "Description", "CustomerName")

# (created at, deleted afterwards, fields)
CASES: tuple[tuple[str, bool, dict[str, Any]], ...] = (
    ("2026-03-01T09:00:00Z", False, {
        "Id": "case-01", "Subject": "Order arrived damaged",
        "Description": "Box crushed in transit", "Status": "New", "Priority": "High",
        "CustomerId": "cust-jane", "CustomerName": "Jane Smith",
        "Tags": ["Shipping", "Product Issue"], "RelatedOrders": ["ORD-1"],
        "AssignedToUserId": "user-kari", "AssignedToName": "Kari",
        "FollowUpDate": "2026-04-02T09:00:00Z", "MarketId": "NO",
    }),
    ("2026-03-01T09:00:00Z", False, {
        "Id": "case-02", "Subject": "Wrong size", "Status": "In Progress", "Priority": "Normal",
        "CustomerId": "cust-john", "CustomerName": "John Doe", "RelatedCustomers": ["cust-jane"],
        "Tags": ["Returns"], "MarketId": "SE",
    }),
    ("2026-03-02T09:00:00Z", False, {
        "Id": "case-03", "Subject": "Refund 50% please", "Description": "Customer wants half back",
        "Status": "Waiting for Customer", "Priority": "Low", "Tags": ["billing"],
        "RelatedOrders": ["ORD-2", "ORD-3"], "AssignedToUserId": "user-ola",
        "AssignedToName": "ola", "FollowUpDate": "2026-04-01T09:00:00Z", "MarketId": "NO",
    }),
    ("2026-03-03T09:00:00Z", False, {
        "Id": "case-04", "Subject": "Parcel lost", "Description": "Tracking shows nothing",
        "Status": "Resolved", "Priority": "Critical", "CustomerId": "cust-ann",
        "CustomerName": "Ann Østby", "Tags": ["Shipping"], "RelatedOrders": ["ORD-1"],
        "AssignedToUserId": "user-kari", "AssignedToName": "Kari",
    }),
    ("2026-03-03T09:00:00Z", False, {
        "Id": "case-05", "Subject": "snake_case label", "Description": "Label printed wrong",
        "Status": "Closed", "Priority": "Normal", "CustomerId": "cust-john",
        "CustomerName": "john doe", "Tags": ["shipping", "Returns"],
        "AssignedToUserId": "user-ola", "AssignedToName": "Ola",
        "FollowUpDate": "2026-04-03T09:00:00Z", "MarketId": "NO",
    }),
    ("2026-03-04T09:00:00Z", True, {
        "Id": "case-06", "Subject": "Order arrived late", "Description": "Courier delayed",
        "Status": "New", "Priority": "Low", "CustomerId": "cust-jane", "CustomerName": "Jane Smith",
        "FollowUpDate": "2026-04-02T09:00:00Z", "MarketId": "SE",
    }),
    ("2026-03-05T09:00:00Z", False, {
        "Id": "case-07", "Subject": "Damaged (again)", "Description": "Second box crushed",
        "Status": "In Progress", "Priority": "High", "CustomerId": "cust-bob",
        "CustomerName": "Bob", "RelatedCustomers": ["cust-ann"], "Tags": ["Product Issue"],
        "RelatedOrders": ["ORD-4"], "AssignedToUserId": "user-kari", "AssignedToName": "kari",
        "FollowUpDate": "2026-04-01T09:00:00Z", "MarketId": "NO",
    }),
    ("2026-03-05T09:00:00Z", True, {
        "Id": "case-08", "Subject": "Question", "Status": "New", "Priority": "Normal",
        "MarketId": "NO",
    }),
)  # fmt: skip

WORDS = (
    *("damaged", "DAMAGED", "arrived", "box", "crushed", "cs-100", "1005", "50%", "%", "_"),
    *("snake_case", "(again)", "jane", "smith", "doe", "øst", "ØST", "ø", "a", "ed", "la"),
    *("zz", "order", "o", "-", "'", '"', "label", "back", "nothing", "e d", "rd"),
)
CREATED = sorted({created for created, _, _ in CASES})


@pytest.fixture
def stored_cases(
    admin: ApiUser, norway_reader: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The cases as the API last returned them, deleted ones included."""
    stored = []
    for created, deleted, fields in CASES:
        monkeypatch.setattr(clock, "now", lambda created=created: clock.parse_utc(created))
        case = admin.create_case(**fields)
        if deleted:
            case = admin.delete(f"/api/cases/{case['Id']}").json()
        stored.append(case)
    return stored


@pytest.fixture
def norway_reader(make_user: UserFactory) -> ApiUser:
    return make_user("CaseRead", markets=("NO",))


def _matches(case: dict[str, Any], request: dict[str, Any], markets: set[str] | None) -> bool:
    refs = {*case["RelatedCustomers"], case["CustomerId"]}
    created = clock.parse_utc(case["Created"])
    texts = [case[field].lower() for field in TEXT_FIELDS if case[field] is not None]
    return all(
        (
            markets is None or case["MarketId"] in markets,
            request.get("IncludeDeleted") or case["DeletedDate"] is None,
            request.get("Status") in (None, case["Status"].lower()),
            request.get("Priority") in (None, case["Priority"].lower()),
            request.get("AssignedToUserId") in (None, case["AssignedToUserId"]),
            {tag.lower() for tag in request.get("Tags") or []}
            <= {tag.lower() for tag in case["Tags"]},
            request.get("CustomerId") in (None, *refs),
            request.get("OrderId") in (None, *case["RelatedOrders"]),
            request.get("DateFrom") is None or created >= clock.parse_utc(request["DateFrom"]),
            request.get("DateTo") is None or created <= clock.parse_utc(request["DateTo"]),
            all(
                any(word.lower() in text for text in texts)
                for word in (request.get("SearchText") or "").split()
            ),
        )
    )


def _sort_value(case: dict[str, Any], key: str) -> Any:
    value = case[key]
    if value is None:
        return None
    if key in ("Created", "Changed", "FollowUpDate"):
        return clock.parse_utc(value)
    if key == "Status":
        return LEVELS[value]
    if key == "Priority":
        return SEVERITIES[value]
    return value.lower()


def _ordered(cases: list[dict[str, Any]], sort_order: str) -> list[dict[str, Any]]:
    descending = sort_order.endswith("Descending")
    key = sort_order.removesuffix("Descending").removesuffix("Ascending")
    present = [case for case in cases if case[key] is not None]
    empty = [case for case in cases if case[key] is None]
    present.sort(key=lambda case: (_sort_value(case, key), case["Id"]), reverse=descending)
    empty.sort(key=lambda case: case["Id"], reverse=descending)
    return present + empty


def expected_page(
    cases: list[dict[str, Any]], request: dict[str, Any], markets: set[str] | None
) -> tuple[list[str], int]:
    found = [case for case in cases if _matches(case, request, markets)]
    ordered = _ordered(found, request.get("SortOrder") or "CreatedDescending")
    take = request.get("Take") or 20
    start = (request.get("Page") or 0) * take
    return [case["Id"] for case in ordered[start : start + take]], len(found)


FILTERS: dict[str, st.SearchStrategy[Any]] = {
    "SearchText": st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" ".join),
    "Status": st.sampled_from([name.lower() for name in LEVELS]),
    "Priority": st.sampled_from([name.lower() for name in SEVERITIES]),
    "AssignedToUserId": st.sampled_from(["user-kari", "user-ola", "user-nobody"]),
    "Tags": st.lists(
        st.sampled_from(["shipping", "Product Issue", "RETURNS", "billing", "none"]), max_size=2
    ),
    "CustomerId": st.sampled_from(["cust-jane", "cust-john", "cust-ann", "cust-x"]),
    "OrderId": st.sampled_from(["ORD-1", "ORD-3", "ORD-4", "ORD-9"]),
    "DateFrom": st.sampled_from(CREATED),
    "DateTo": st.sampled_from(CREATED),
    "IncludeDeleted": st.booleans(),
}
SORT_ORDERS = [f"{key}{way}" for key in SORT_KEYS for way in ("Ascending", "Descending")]

# At most two filters, so that most requests still match several cases and paging shows.
requests = st.lists(st.sampled_from(sorted(FILTERS)), max_size=2, unique=True).flatmap(
    lambda names: st.fixed_dictionaries(
        {
            **{name: FILTERS[name] for name in names},
            "SortOrder": st.none() | st.sampled_from(SORT_ORDERS),
            "Page": st.none() | st.integers(min_value=0, max_value=2),
            "Take": st.none() | st.integers(min_value=1, max_value=4),
        }
    )
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(request=requests, as_norway_reader=st.booleans())
def test_search_agrees_with_a_plain_model_of_its_rules(
    admin: ApiUser,
    norway_reader: ApiUser,
    stored_cases: list[dict[str, Any]],
    request: dict[str, Any],
    as_norway_reader: bool,
) -> None:
    user, markets = (norway_reader, {"NO"}) if as_norway_reader else (admin, None)

    response = user.post(SEARCH, json=request)

    assert response.status_code == 200, response.text
    body = response.json()
    ids, total = expected_page(stored_cases, request, markets)
    assert ([case["Id"] for case in body["Items"]], body["TotalHits"]) == (ids, total)
    assert (body["Page"], body["PageSize"]) == (request.get("Page") or 0, request.get("Take") or 20)


def test_the_model_data_is_what_the_api_stored(stored_cases: list[dict[str, Any]]) -> None:
    assert [case["Created"] for case in stored_cases] == [
        datetime.fromisoformat(created).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        for created, _, _ in CASES
    ]
    assert [case["DeletedDate"] is not None for case in stored_cases] == [
        deleted for _, deleted, _ in CASES
    ]
