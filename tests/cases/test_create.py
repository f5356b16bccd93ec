"""POST /api/cases: the reference's Create example, defaults, numbering and client ids."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from casedesk.cases.schemas import RESERVED_IDS
from casedesk.config import Settings
from casedesk.main import create_app
from tests.cases.numbering import set_last_case_number
from tests.conftest import ApiUser, UserFactory

# The reference's Create example, verbatim.
REFERENCE_CREATE: dict[str, Any] = {
    "Subject": "Order arrived damaged",
    "Description": (
        "Customer reports that package was visibly damaged on arrival. "
        "Items inside may be affected."
    ),
    "Priority": "High",
    "Source": "Phone",
    "CustomerEmail": "customer@example.com",
    "Tags": ["Shipping", "Product Issue"],
    "RelatedOrders": ["ORD-10542"],
}

# Every field of the reference's OmniumCase model, plus DeletedDate (conventions).
OMNIUM_CASE_FIELDS = {
    "Id",
    "CaseNumber",
    "Subject",
    "Description",
    "Status",
    "Priority",
    "Source",
    "AssignedToUserId",
    "AssignedToName",
    "CustomerId",
    "CustomerName",
    "CustomerEmail",
    "Tags",
    "RelatedOrders",
    "RelatedCustomers",
    "RelatedProjects",
    "RelatedCarts",
    "RelatedSkuIds",
    "RelatedProductIds",
    "Participants",
    "CaseNotes",
    "InternalNotes",
    "Properties",
    "CaseStatusLog",
    "FollowUpDate",
    "ResolvedDate",
    "ClosedDate",
    "LastCommentDate",
    "LastCommenterName",
    "CommentCount",
    "Created",
    "Changed",
    "MarketId",
    "MarketGroupId",
    "DeletedDate",
}


def problem_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors


def test_the_reference_create_example_answers_201_with_a_location(admin: ApiUser) -> None:
    response = admin.post("/api/cases", json=REFERENCE_CREATE)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/cases/{response.json()['Id']}"


def test_the_created_case_carries_every_field_of_the_omnium_case_model(admin: ApiUser) -> None:
    case = admin.post("/api/cases", json=REFERENCE_CREATE).json()
    assert set(case) == OMNIUM_CASE_FIELDS


def test_the_created_case_holds_what_was_sent(admin: ApiUser) -> None:
    case = admin.post("/api/cases", json=REFERENCE_CREATE).json()
    assert {name: case[name] for name in REFERENCE_CREATE} == REFERENCE_CREATE


def test_the_created_case_starts_new_with_empty_lists_and_no_comments(admin: ApiUser) -> None:
    case = admin.post("/api/cases", json=REFERENCE_CREATE).json()
    assert case["Status"] == "New"
    assert case["CaseNumber"] == "CS-1001"
    assert case["CaseStatusLog"] == [
        {"Status": "New", "Timestamp": case["Created"], "DurationSincePreviousMs": None}
    ]
    assert case["Created"] == case["Changed"]
    assert case["Created"].endswith("Z")
    assert case["CommentCount"] == 0
    for name in ("RelatedCustomers", "Participants", "CaseNotes", "InternalNotes", "Properties"):
        assert case[name] == []
    for name in ("AssignedToUserId", "ResolvedDate", "ClosedDate", "LastCommentDate"):
        assert case[name] is None


def test_the_created_case_reads_back_the_same(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json=REFERENCE_CREATE)
    read = admin.get(created.headers["Location"])
    assert read.status_code == 200
    assert read.json() == created.json()
    assert read.headers["ETag"] == created.headers["ETag"]


def test_case_numbers_count_up_from_cs_1001(admin: ApiUser) -> None:
    first = admin.create_case()
    second = admin.create_case(Subject="Wrong size delivered")
    assert (first["CaseNumber"], second["CaseNumber"]) == ("CS-1001", "CS-1002")


def test_priority_defaults_to_normal(admin: ApiUser) -> None:
    assert admin.create_case()["Priority"] == "Normal"


def test_a_status_given_on_create_is_used(admin: ApiUser) -> None:
    case = admin.create_case(Status="In Progress")
    assert case["Status"] == "In Progress"
    assert [item["Status"] for item in case["CaseStatusLog"]] == ["In Progress"]


def test_status_and_priority_names_are_matched_case_insensitively_and_stored_canonically(
    admin: ApiUser,
) -> None:
    case = admin.create_case(Status="waiting FOR customer", Priority="critical")
    assert (case["Status"], case["Priority"]) == ("Waiting for Customer", "Critical")


def test_a_case_created_closed_has_resolved_and_closed_dates(admin: ApiUser) -> None:
    case = admin.create_case(Status="Closed")
    assert case["ClosedDate"] == case["ResolvedDate"] == case["Created"]


def test_a_case_created_resolved_has_only_a_resolved_date(admin: ApiUser) -> None:
    case = admin.create_case(Status="Resolved")
    assert (case["ResolvedDate"], case["ClosedDate"]) == (case["Created"], None)


def test_an_unknown_status_on_create_lists_the_allowed_statuses(admin: ApiUser) -> None:
    response = admin.post("/api/cases", json={"Subject": "Order arrived damaged", "Status": "Open"})
    assert problem_errors(response) == {
        "Status": [
            "Unknown status 'Open'. Allowed: New, In Progress, Waiting for Customer, "
            "Resolved, Closed."
        ]
    }


def test_an_unknown_priority_on_create_lists_the_allowed_priorities(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases", json={"Subject": "Order arrived damaged", "Priority": "Urgent"}
    )
    assert problem_errors(response) == {
        "Priority": ["Unknown priority 'Urgent'. Allowed: Low, Normal, High, Critical."]
    }


def test_an_unknown_status_and_priority_are_both_reported(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases",
        json={"Subject": "Order arrived damaged", "Status": "Open", "Priority": "Urgent"},
    )
    assert set(problem_errors(response)) == {"Status", "Priority"}


def test_an_unknown_status_creates_nothing(admin: ApiUser) -> None:
    admin.post("/api/cases", json={"Subject": "Order arrived damaged", "Status": "Open"})
    assert admin.create_case()["CaseNumber"] == "CS-1001"


def test_a_client_chosen_id_is_kept(admin: ApiUser) -> None:
    case = admin.create_case(Id="abc123")
    assert case["Id"] == "abc123"
    assert admin.get("/api/cases/abc123").status_code == 200


def test_a_case_without_an_id_gets_one_from_the_server(admin: ApiUser) -> None:
    first = admin.create_case()
    second = admin.create_case()
    assert len({first["Id"], second["Id"]} - {"", None}) == 2


def test_creating_with_a_taken_id_is_409(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases", json={"Id": "abc123", "Subject": "Wrong size delivered"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


def test_creating_with_the_id_of_a_deleted_case_is_409(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    admin.delete("/api/cases/abc123")
    response = admin.post("/api/cases", json={"Id": "abc123", "Subject": "Wrong size delivered"})
    assert response.status_code == 409


def test_creating_with_the_id_of_a_case_in_another_market_is_409_like_any_taken_id(
    make_user: UserFactory,
) -> None:
    """Documented (docs/api.md, Markets): Ids are unique in the tenant, so this is what a
    market-scoped user can learn of another market's cases."""
    make_user("CaseAdmin", markets=("SE",)).create_case(Id="abc123", MarketId="SE")
    norwegian = make_user("CaseAdmin", markets=("NO",))
    norwegian.create_case(Id="abc124", MarketId="NO")
    hidden = norwegian.post("/api/cases", json={"Id": "abc123", "Subject": "x", "MarketId": "NO"})
    own = norwegian.post("/api/cases", json={"Id": "abc124", "Subject": "x", "MarketId": "NO"})
    assert hidden.status_code == own.status_code == 409
    assert hidden.json()["detail"] == own.json()["detail"].replace("abc124", "abc123")


def test_a_case_number_taken_already_is_a_409_problem_and_not_a_500(
    admin: ApiUser, database_url: str
) -> None:
    first = admin.create_case()
    set_last_case_number(database_url, 1000)
    response = admin.post("/api/cases", json={"Subject": "Wrong size delivered"})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert admin.get(f"/api/cases/{first['Id']}").json() == first


def test_a_rejected_duplicate_id_leaves_the_first_case_alone(admin: ApiUser) -> None:
    first = admin.create_case(Id="abc123")
    admin.post("/api/cases", json={"Id": "abc123", "Subject": "Wrong size delivered"})
    assert admin.get("/api/cases/abc123").json() == first


def test_a_missing_subject_is_400_naming_subject(admin: ApiUser) -> None:
    response = admin.post("/api/cases", json={"Priority": "High"})
    assert problem_errors(response) == {"Subject": ["The Subject field is required."]}


@pytest.mark.parametrize("subject", ["", "   "])
def test_a_blank_subject_is_400(admin: ApiUser, subject: str) -> None:
    response = admin.post("/api/cases", json={"Subject": subject})
    assert "Subject" in problem_errors(response)


def test_a_reader_may_not_create(reader: ApiUser) -> None:
    response = reader.post("/api/cases", json=REFERENCE_CREATE)
    assert response.status_code == 403


@pytest.mark.parametrize("reserved", ["settings", "Search", "scroll"])
def test_an_id_that_would_shadow_an_api_path_is_refused(admin: ApiUser, reserved: str) -> None:
    response = admin.post("/api/cases", json={"Id": reserved, "Subject": "Shadow"})

    assert response.status_code == 400
    assert "Id" in response.json()["errors"]


def test_the_reserved_ids_are_exactly_the_paths_routed_beside_a_case() -> None:
    """Every literal segment routed under /api/cases is reserved, so no case Id shadows it."""
    routed = {
        route.path_format.removeprefix("/api/cases/").split("/")[0]
        for route in iter_route_contexts(create_app(Settings()).routes)
        if route.path_format and route.path_format.startswith("/api/cases/")
    }
    assert {segment for segment in routed if "{" not in segment} == RESERVED_IDS
