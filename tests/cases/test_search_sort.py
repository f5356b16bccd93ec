"""SortOrder: the 16 orders, by Level and Severity where those apply, nulls last, ties on Id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from casedesk import clock
from tests.conftest import ApiUser

SEARCH = "/api/cases/search"
SetClock = Callable[[str], None]


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> SetClock:
    """Stop the clock at an ISO time; create users before calling it, or their tokens expire."""

    def set_to(moment: str) -> None:
        monkeypatch.setattr(clock, "now", lambda: clock.parse_utc(moment))

    return set_to


def found_ids(user: ApiUser, **body: Any) -> list[str]:
    response = user.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return [case["Id"] for case in response.json()["Items"]]


@pytest.fixture
def four_cases(admin: ApiUser, set_clock: SetClock) -> None:
    """Four cases whose every sort key orders them differently, and differently from the
    alphabet where Level, Severity or letter case should win."""
    set_clock("2026-03-01T09:00:00Z")
    admin.create_case(
        Id="case-a",
        Subject="cherry",
        Status="Closed",
        Priority="Low",
        CustomerName="Dana",
        AssignedToUserId="user-zed",
        AssignedToName="zed",
        FollowUpDate="2026-04-03T09:00:00Z",
    )
    set_clock("2026-03-02T09:00:00Z")
    admin.create_case(
        Id="case-b",
        Subject="apple",
        Status="New",
        Priority="Critical",
        AssignedToUserId="user-amy",
        AssignedToName="Amy",
    )
    set_clock("2026-03-03T09:00:00Z")
    admin.create_case(
        Id="case-c",
        Subject="Date",
        Status="Waiting for Customer",
        Priority="Normal",
        CustomerName="bob",
        FollowUpDate="2026-04-01T09:00:00Z",
    )
    set_clock("2026-03-04T09:00:00Z")
    admin.create_case(
        Id="case-d",
        Subject="Banana",
        Status="In Progress",
        Priority="High",
        CustomerName="Carl",
        AssignedToUserId="user-mia",
        AssignedToName="mia",
        FollowUpDate="2026-04-02T09:00:00Z",
    )
    set_clock("2026-03-10T09:00:00Z")
    admin.patch("/api/cases", json={"Id": "case-a", "Description": "Touched first"})
    set_clock("2026-03-11T09:00:00Z")
    admin.patch("/api/cases", json={"Id": "case-b", "Description": "Touched last"})


EXPECTED_ORDER = {
    "CreatedAscending": ["case-a", "case-b", "case-c", "case-d"],
    "CreatedDescending": ["case-d", "case-c", "case-b", "case-a"],
    "ChangedAscending": ["case-c", "case-d", "case-a", "case-b"],
    "ChangedDescending": ["case-b", "case-a", "case-d", "case-c"],
    # New 10 < In Progress 20 < Waiting for Customer 30 < Closed 50
    "StatusAscending": ["case-b", "case-d", "case-c", "case-a"],
    "StatusDescending": ["case-a", "case-c", "case-d", "case-b"],
    # Low 1 < Normal 2 < High 3 < Critical 4
    "PriorityAscending": ["case-a", "case-c", "case-d", "case-b"],
    "PriorityDescending": ["case-b", "case-d", "case-c", "case-a"],
    # apple < Banana < cherry < Date
    "SubjectAscending": ["case-b", "case-d", "case-a", "case-c"],
    "SubjectDescending": ["case-c", "case-a", "case-d", "case-b"],
    # bob < Carl < Dana, then the case without a customer name
    "CustomerNameAscending": ["case-c", "case-d", "case-a", "case-b"],
    "CustomerNameDescending": ["case-a", "case-d", "case-c", "case-b"],
    # Amy < mia < zed, then the unassigned case
    "AssignedToNameAscending": ["case-b", "case-d", "case-a", "case-c"],
    "AssignedToNameDescending": ["case-a", "case-d", "case-b", "case-c"],
    # April 1 < April 2 < April 3, then the case without a follow-up date
    "FollowUpDateAscending": ["case-c", "case-d", "case-a", "case-b"],
    "FollowUpDateDescending": ["case-a", "case-d", "case-c", "case-b"],
}


@pytest.mark.usefixtures("four_cases")
@pytest.mark.parametrize(("sort_order", "expected"), EXPECTED_ORDER.items())
def test_sort_order_puts_cases_in_its_order_with_empty_values_last(
    admin: ApiUser, sort_order: str, expected: list[str]
) -> None:
    assert found_ids(admin, SortOrder=sort_order) == expected


def test_every_sort_order_of_the_reference_is_covered() -> None:
    fields = [
        *("Created", "Changed", "Status", "Priority"),
        *("Subject", "CustomerName", "AssignedToName", "FollowUpDate"),
    ]
    assert set(EXPECTED_ORDER) == {
        f"{field}{direction}" for field in fields for direction in ("Ascending", "Descending")
    }


@pytest.mark.usefixtures("four_cases")
def test_default_sort_is_created_descending(admin: ApiUser) -> None:
    assert found_ids(admin) == EXPECTED_ORDER["CreatedDescending"]


@pytest.mark.usefixtures("four_cases")
@pytest.mark.parametrize("sort_order", ["statusascending", "STATUSASCENDING", "sTaTuSaScEnDiNg"])
def test_sort_order_is_matched_case_insensitively(admin: ApiUser, sort_order: str) -> None:
    assert found_ids(admin, SortOrder=sort_order) == EXPECTED_ORDER["StatusAscending"]


@pytest.mark.parametrize("sort_order", ["Created", "Ascending", "CreatedAsc", "Relevance", "", 1])
def test_unknown_sort_order_is_a_400(admin: ApiUser, sort_order: object) -> None:
    response = admin.post(SEARCH, json={"SortOrder": sort_order})

    assert response.status_code == 400
    assert "SortOrder" in response.json()["errors"]


def test_status_sort_follows_levels_changed_in_the_settings(admin: ApiUser, owner: ApiUser) -> None:
    admin.create_case(Id="case-new", Status="New")
    admin.create_case(Id="case-closed", Status="Closed")
    settings = owner.get("/api/cases/settings").json()
    for status in settings["Statuses"]:
        if status["Name"] == "New":
            status["Level"] = 60
    assert owner.put("/api/cases/settings", json=settings).status_code == 200

    assert found_ids(admin, SortOrder="StatusAscending") == ["case-closed", "case-new"]


@pytest.mark.parametrize(
    ("sort_order", "expected"),
    [
        ("CreatedAscending", ["case-1", "case-2", "case-3"]),
        ("CreatedDescending", ["case-3", "case-2", "case-1"]),
        ("SubjectAscending", ["case-1", "case-2", "case-3"]),
        ("FollowUpDateDescending", ["case-3", "case-2", "case-1"]),
    ],
)
def test_ties_are_broken_on_id_in_the_sort_direction(
    admin: ApiUser, set_clock: SetClock, sort_order: str, expected: list[str]
) -> None:
    set_clock("2026-03-01T09:00:00Z")
    for case_id in ("case-2", "case-3", "case-1"):
        admin.create_case(Id=case_id, Subject="Same subject")

    assert found_ids(admin, SortOrder=sort_order) == expected


def test_subjects_differing_only_in_letter_case_tie_and_break_on_id(
    admin: ApiUser, set_clock: SetClock
) -> None:
    set_clock("2026-03-01T09:00:00Z")
    admin.create_case(Id="case-2", Subject="parcel")
    admin.create_case(Id="case-1", Subject="PARCEL")
    admin.create_case(Id="case-3", Subject="Parcel")

    assert found_ids(admin, SortOrder="SubjectAscending") == ["case-1", "case-2", "case-3"]


@pytest.mark.parametrize("sort_order", EXPECTED_ORDER)
def test_paging_through_many_equal_keys_never_overlaps_or_skips(
    admin: ApiUser, set_clock: SetClock, sort_order: str
) -> None:
    set_clock("2026-03-01T09:00:00Z")
    case_ids = ["case-5", "case-2", "case-7", "case-1", "case-6", "case-3", "case-4"]
    for number, case_id in enumerate(case_ids):
        admin.create_case(
            Id=case_id,
            Subject="Same subject",
            CustomerName="Same customer" if number % 2 else None,
            AssignedToName="Same agent" if number % 3 else None,
            FollowUpDate="2026-04-01T09:00:00Z" if number % 2 else None,
        )

    pages = [found_ids(admin, SortOrder=sort_order, Page=page, Take=3) for page in range(4)]

    seen = [case_id for page in pages for case_id in page]
    assert sorted(seen) == sorted(case_ids)
    assert pages[3] == []
