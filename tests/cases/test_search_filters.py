"""POST /api/cases/search: each filter on its own, filters combined, and who sees what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from casedesk import clock
from tests.conftest import ApiUser, UserFactory

SEARCH = "/api/cases/search"


def found(user: ApiUser, **body: Any) -> set[str]:
    response = user.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return {case["Subject"] for case in response.json()["Items"]}


def errors(user: ApiUser, **body: Any) -> dict[str, list[str]]:
    response = user.post(SEARCH, json=body)
    assert response.status_code == 400, response.text
    problem: dict[str, list[str]] = response.json()["errors"]
    return problem


def test_no_filter_returns_every_case(admin: ApiUser) -> None:
    admin.create_case(Subject="Parcel lost")
    admin.create_case(Subject="Wrong size")

    assert found(admin) == {"Parcel lost", "Wrong size"}


def test_status_filter_returns_only_cases_in_that_status(admin: ApiUser) -> None:
    admin.create_case(Subject="Fresh", Status="New")
    admin.create_case(Subject="Working", Status="In Progress")

    assert found(admin, Status="In Progress") == {"Working"}


def test_status_filter_matches_the_status_name_case_insensitively(admin: ApiUser) -> None:
    admin.create_case(Subject="Fresh", Status="New")
    admin.create_case(Subject="Working", Status="In Progress")

    assert found(admin, Status="in progress") == {"Working"}


def test_unknown_status_is_a_400_listing_the_allowed_statuses(admin: ApiUser) -> None:
    messages = errors(admin, Status="Open")

    assert messages["Status"] == [
        "Unknown status 'Open'. Allowed: New, In Progress, Waiting for Customer, Resolved, Closed."
    ]


def test_priority_filter_returns_only_cases_with_that_priority(admin: ApiUser) -> None:
    admin.create_case(Subject="Urgent", Priority="High")
    admin.create_case(Subject="Routine", Priority="Normal")

    assert found(admin, Priority="High") == {"Urgent"}


def test_priority_filter_matches_the_priority_name_case_insensitively(admin: ApiUser) -> None:
    admin.create_case(Subject="Urgent", Priority="High")
    admin.create_case(Subject="Routine", Priority="Normal")

    assert found(admin, Priority="HIGH") == {"Urgent"}


def test_unknown_priority_is_a_400_listing_the_allowed_priorities(admin: ApiUser) -> None:
    messages = errors(admin, Priority="Blocker")

    assert messages["Priority"] == [
        "Unknown priority 'Blocker'. Allowed: Low, Normal, High, Critical."
    ]


def test_assigned_to_user_id_filter_returns_only_that_users_cases(admin: ApiUser) -> None:
    admin.create_case(Subject="Kari's", AssignedToUserId="user-kari", AssignedToName="Kari")
    admin.create_case(Subject="Ola's", AssignedToUserId="user-ola", AssignedToName="Ola")
    admin.create_case(Subject="Nobody's")

    assert found(admin, AssignedToUserId="user-kari") == {"Kari's"}


def test_tags_filter_returns_cases_having_every_listed_tag(admin: ApiUser) -> None:
    admin.create_case(Subject="Both", Tags=["Shipping", "Product Issue"])
    admin.create_case(Subject="Shipping only", Tags=["Shipping"])
    admin.create_case(Subject="Both and more", Tags=["Escalated", "Product Issue", "Shipping"])

    assert found(admin, Tags=["Shipping", "Product Issue"]) == {"Both", "Both and more"}


def test_tags_filter_matches_tags_case_insensitively(admin: ApiUser) -> None:
    admin.create_case(Subject="Tagged", Tags=["Product Issue"])
    admin.create_case(Subject="Untagged")

    assert found(admin, Tags=["product issue"]) == {"Tagged"}


def test_tags_filter_does_not_match_part_of_a_tag(admin: ApiUser) -> None:
    admin.create_case(Subject="Tagged", Tags=["Shipping"])

    assert found(admin, Tags=["Ship"]) == set()


def test_empty_tags_list_filters_nothing(admin: ApiUser) -> None:
    admin.create_case(Subject="Tagged", Tags=["Shipping"])
    admin.create_case(Subject="Untagged")

    assert found(admin, Tags=[]) == {"Tagged", "Untagged"}


def test_customer_id_filter_matches_the_cases_customer(admin: ApiUser) -> None:
    admin.create_case(Subject="Jane's", CustomerId="cust-jane")
    admin.create_case(Subject="John's", CustomerId="cust-john")

    assert found(admin, CustomerId="cust-jane") == {"Jane's"}


def test_customer_id_filter_matches_a_related_customer(admin: ApiUser) -> None:
    admin.create_case(Subject="Jane's", CustomerId="cust-jane")
    admin.create_case(
        Subject="John's, Jane related", CustomerId="cust-john", RelatedCustomers=["cust-jane"]
    )
    admin.create_case(Subject="John's", CustomerId="cust-john")

    assert found(admin, CustomerId="cust-jane") == {"Jane's", "John's, Jane related"}


def test_customer_id_filter_follows_a_patched_customer(admin: ApiUser) -> None:
    case = admin.create_case(Subject="Moved", CustomerId="cust-jane")
    admin.patch("/api/cases", json={"Id": case["Id"], "CustomerId": "cust-john"})

    assert (found(admin, CustomerId="cust-jane"), found(admin, CustomerId="cust-john")) == (
        set(),
        {"Moved"},
    )


def test_order_id_filter_matches_a_related_order(admin: ApiUser) -> None:
    admin.create_case(Subject="Damaged", RelatedOrders=["ORD-10542", "ORD-10543"])
    admin.create_case(Subject="Late", RelatedOrders=["ORD-20001"])

    assert found(admin, OrderId="ORD-10543") == {"Damaged"}


def test_order_id_filter_matches_whole_ids_only(admin: ApiUser) -> None:
    admin.create_case(Subject="Damaged", RelatedOrders=["ORD-10542"])

    assert (found(admin, OrderId="ORD-105"), found(admin, OrderId="ord-10542")) == (set(), set())


def test_customer_id_filter_matches_whole_ids_only(admin: ApiUser) -> None:
    admin.create_case(Subject="Jane's", CustomerId="cust-jane")

    assert (found(admin, CustomerId="cust"), found(admin, CustomerId="CUST-JANE")) == (set(), set())


def test_date_from_and_date_to_bound_created_inclusively(
    admin: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in ("01", "02", "03", "04", "05"):
        monkeypatch.setattr(clock, "now", lambda day=day: datetime(2026, 3, int(day), 9, 0))
        admin.create_case(Subject=f"March {day}")

    assert found(admin, DateFrom="2026-03-02T09:00:00Z", DateTo="2026-03-04T09:00:00Z") == {
        "March 02",
        "March 03",
        "March 04",
    }


def test_date_from_alone_keeps_cases_created_at_or_after_it(
    admin: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in ("01", "02", "03"):
        monkeypatch.setattr(clock, "now", lambda day=day: datetime(2026, 3, int(day), 9, 0))
        admin.create_case(Subject=f"March {day}")

    assert found(admin, DateFrom="2026-03-02T09:00:00Z") == {"March 02", "March 03"}


def test_date_to_alone_keeps_cases_created_at_or_before_it(
    admin: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in ("01", "02", "03"):
        monkeypatch.setattr(clock, "now", lambda day=day: datetime(2026, 3, int(day), 9, 0))
        admin.create_case(Subject=f"March {day}")

    assert found(admin, DateTo="2026-03-02T09:00:00Z") == {"March 01", "March 02"}


def test_date_bounds_with_an_offset_are_compared_in_utc(
    admin: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 2, 9, 0))
    admin.create_case(Subject="At nine UTC")

    assert (
        found(admin, DateFrom="2026-03-02T10:00:00+01:00"),
        found(admin, DateFrom="2026-03-02T10:00:01+01:00"),
    ) == ({"At nine UTC"}, set())


def test_created_values_returned_by_the_api_work_as_bounds(admin: ApiUser) -> None:
    cases = [admin.create_case(Subject="First"), admin.create_case(Subject="Second")]
    first = cases[0]["Created"]

    expected = {case["Subject"] for case in cases if case["Created"] == first}
    assert found(admin, DateFrom=first, DateTo=first) == expected


def test_deleted_cases_are_left_out_by_default(admin: ApiUser) -> None:
    admin.create_case(Subject="Kept")
    gone = admin.create_case(Subject="Gone")
    admin.delete(f"/api/cases/{gone['Id']}")

    assert found(admin) == {"Kept"}


def test_include_deleted_returns_deleted_cases_marked_with_deleted_date(admin: ApiUser) -> None:
    admin.create_case(Subject="Kept")
    gone = admin.create_case(Subject="Gone")
    admin.delete(f"/api/cases/{gone['Id']}")

    response = admin.post(SEARCH, json={"IncludeDeleted": True})

    deleted = {
        case["Subject"]: case["DeletedDate"] is not None for case in response.json()["Items"]
    }
    assert deleted == {"Kept": False, "Gone": True}


def test_a_restored_case_is_found_again(admin: ApiUser) -> None:
    case = admin.create_case(Subject="Back again")
    admin.delete(f"/api/cases/{case['Id']}")
    admin.post(f"/api/cases/{case['Id']}/restore")

    assert found(admin) == {"Back again"}


def test_filters_combine_with_and(admin: ApiUser) -> None:
    admin.create_case(Subject="All match", Status="New", Priority="High", Tags=["Shipping"])
    admin.create_case(Subject="Wrong status", Status="Closed", Priority="High", Tags=["Shipping"])
    admin.create_case(Subject="Wrong priority", Status="New", Priority="Low", Tags=["Shipping"])
    admin.create_case(Subject="Wrong tag", Status="New", Priority="High", Tags=["Billing"])

    assert found(admin, Status="New", Priority="High", Tags=["Shipping"]) == {"All match"}


def test_null_filters_filter_nothing(admin: ApiUser) -> None:
    admin.create_case(Subject="Parcel lost", Tags=["Shipping"])

    assert found(
        admin,
        SearchText=None,
        Status=None,
        Priority=None,
        AssignedToUserId=None,
        Tags=None,
        CustomerId=None,
        OrderId=None,
        DateFrom=None,
        DateTo=None,
        SortOrder=None,
    ) == {"Parcel lost"}


def test_empty_string_filters_filter_nothing(admin: ApiUser) -> None:
    admin.create_case(Subject="Assigned", AssignedToUserId="user-kari", CustomerId="cust-jane")
    admin.create_case(Subject="Plain")

    assert found(
        admin, Status="", Priority="", AssignedToUserId="", CustomerId="", OrderId="", SearchText=""
    ) == {"Assigned", "Plain"}


def test_request_field_names_match_case_insensitively(admin: ApiUser) -> None:
    admin.create_case(Subject="Urgent", Priority="High")
    admin.create_case(Subject="Routine", Priority="Normal")

    assert found(admin, priority="High") == {"Urgent"}


def test_unknown_request_field_is_a_400_naming_it(admin: ApiUser) -> None:
    assert "Statuss" in errors(admin, Statuss="New")


def test_reader_may_search(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case(Subject="Parcel lost")

    assert found(reader) == {"Parcel lost"}


def test_search_without_a_token_is_a_401(admin: ApiUser) -> None:
    response = admin.http.post(SEARCH, json={})

    assert response.status_code == 401


def test_user_without_case_read_gets_403(make_user: UserFactory) -> None:
    nobody = make_user()

    assert nobody.post(SEARCH, json={}).status_code == 403


def test_user_limited_to_a_market_sees_only_that_markets_cases(
    admin: ApiUser, make_user: UserFactory
) -> None:
    admin.create_case(Subject="Norway", MarketId="NO")
    admin.create_case(Subject="Sweden", MarketId="SE")
    admin.create_case(Subject="No market")
    norway_reader = make_user("CaseRead", markets=("NO",))

    assert found(norway_reader) == {"Norway"}


def test_total_hits_counts_only_the_markets_cases(admin: ApiUser, make_user: UserFactory) -> None:
    admin.create_case(Subject="Norway", MarketId="NO")
    admin.create_case(Subject="Sweden", MarketId="SE")
    norway_reader = make_user("CaseRead", markets=("NO",))

    assert norway_reader.post(SEARCH, json={}).json()["TotalHits"] == 1


def test_other_tenants_cases_never_appear(admin: ApiUser, make_user: UserFactory) -> None:
    admin.create_case(Subject="Ours", Tags=["Shipping"], CustomerId="cust-1")
    other_admin = make_user("CaseAdmin", tenant="other")
    other_admin.create_case(Subject="Theirs", Tags=["Shipping"], CustomerId="cust-1")

    assert (
        found(admin, Tags=["Shipping"], CustomerId="cust-1", SearchText="s"),
        found(other_admin, Tags=["Shipping"], CustomerId="cust-1", SearchText="s"),
    ) == ({"Ours"}, {"Theirs"})
