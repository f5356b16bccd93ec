"""PATCH and PUT /api/cases: partial updates, FieldsToForceNull, and full replacement."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiUser

# The reference's Create example, then its PATCH example, verbatim.
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
REFERENCE_PATCH: dict[str, Any] = {
    "Id": "abc123",
    "Priority": "Critical",
    "Tags": ["Shipping", "Product Issue", "Escalated"],
}

FULL_CASE: dict[str, Any] = {
    **REFERENCE_CREATE,
    "Id": "abc123",
    "CustomerName": "Jane Smith",
    "CustomerId": "cust-77",
    "AssignedToUserId": "user-456",
    "AssignedToName": "John Agent",
    "FollowUpDate": "2026-04-01T09:00:00.000Z",
    "RelatedSkuIds": ["SKU-1"],
    "Participants": [
        {"Name": "Jane Smith", "Email": "jane@example.com", "CustomerId": None, "Role": "Reporter"}
    ],
    "Properties": [{"Key": "Channel", "Value": "Store", "KeyGroup": None, "ValueType": None}],
    "CaseNotes": [{"Detail": "We are sending a replacement."}],
    "InternalNotes": [{"Detail": "Courier confirmed the damage.", "Creator": "Ola"}],
    "MarketId": "NO",
}

CLEARABLE = (
    "Description, Source, AssignedToUserId, AssignedToName, CustomerId, CustomerName, "
    "CustomerEmail, FollowUpDate, MarketId, MarketGroupId, Tags, RelatedOrders, "
    "RelatedCustomers, RelatedProjects, RelatedCarts, RelatedSkuIds, RelatedProductIds, "
    "Participants, Properties"
)


def problem_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors


def without_change_stamps(case: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in case.items() if name != "Changed"}


# PATCH


def test_the_reference_patch_example_sets_priority_and_replaces_tags(admin: ApiUser) -> None:
    admin.create_case(Id="abc123", **REFERENCE_CREATE)
    response = admin.patch("/api/cases", json=REFERENCE_PATCH)
    assert response.status_code == 200
    case = response.json()
    assert case["Priority"] == "Critical"
    assert case["Tags"] == ["Shipping", "Product Issue", "Escalated"]


def test_the_reference_patch_example_leaves_every_other_field_alone(admin: ApiUser) -> None:
    before = admin.create_case(Id="abc123", **REFERENCE_CREATE)
    after = admin.patch("/api/cases", json=REFERENCE_PATCH).json()
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"Priority", "Tags", "Changed"}


def test_a_patch_answers_with_the_stored_case_and_a_new_etag(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json={**REFERENCE_CREATE, "Id": "abc123"})
    response = admin.patch("/api/cases", json=REFERENCE_PATCH)
    assert response.headers["ETag"] != created.headers["ETag"]
    read = admin.get("/api/cases/abc123")
    assert read.json() == response.json()
    assert read.headers["ETag"] == response.headers["ETag"]


def test_null_fields_in_a_patch_are_left_untouched(admin: ApiUser) -> None:
    before = admin.create_case(**FULL_CASE)
    nulls = {
        name: None
        for name in ("Subject", "Description", "CustomerEmail", "FollowUpDate", "Tags", "Status")
    }
    after = admin.patch("/api/cases", json={"Id": "abc123", **nulls}).json()
    assert after == before


def test_lists_left_out_of_a_patch_are_left_untouched(admin: ApiUser) -> None:
    before = admin.create_case(**FULL_CASE)
    after = admin.patch("/api/cases", json={"Id": "abc123", "Subject": "Box crushed"}).json()
    for name in ("Tags", "RelatedOrders", "RelatedSkuIds", "Participants", "Properties"):
        assert after[name] == before[name]


def test_a_list_sent_in_a_patch_replaces_the_list(admin: ApiUser) -> None:
    admin.create_case(**FULL_CASE)
    after = admin.patch("/api/cases", json={"Id": "abc123", "RelatedOrders": ["ORD-20001"]}).json()
    assert after["RelatedOrders"] == ["ORD-20001"]


def test_an_empty_list_sent_in_a_patch_empties_the_list(admin: ApiUser) -> None:
    admin.create_case(**FULL_CASE)
    after = admin.patch("/api/cases", json={"Id": "abc123", "Participants": []}).json()
    assert after["Participants"] == []


def test_a_patched_priority_is_matched_case_insensitively(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    after = admin.patch("/api/cases", json={"Id": "abc123", "Priority": "low"}).json()
    assert after["Priority"] == "Low"


@pytest.mark.parametrize(
    ("field", "emptied"),
    [
        ("FollowUpDate", None),
        ("CustomerEmail", None),
        ("AssignedToName", None),
        ("Tags", []),
        ("Participants", []),
    ],
)
def test_fields_to_force_null_clears_the_field(admin: ApiUser, field: str, emptied: Any) -> None:
    before = admin.create_case(**FULL_CASE)
    assert before[field] not in (None, [])
    after = admin.patch("/api/cases", json={"Id": "abc123", "FieldsToForceNull": [field]}).json()
    assert after[field] == emptied


def test_fields_to_force_null_matches_names_case_insensitively(admin: ApiUser) -> None:
    admin.create_case(**FULL_CASE)
    after = admin.patch(
        "/api/cases", json={"Id": "abc123", "FieldsToForceNull": ["followUpDate", "customeremail"]}
    ).json()
    assert (after["FollowUpDate"], after["CustomerEmail"]) == (None, None)


def test_fields_to_force_null_leaves_other_fields_alone(admin: ApiUser) -> None:
    before = admin.create_case(**FULL_CASE)
    after = admin.patch(
        "/api/cases", json={"Id": "abc123", "FieldsToForceNull": ["FollowUpDate"]}
    ).json()
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"FollowUpDate", "Changed"}


@pytest.mark.parametrize("field", ["Subject", "Status", "Priority", "CaseNumber", "Colour"])
def test_fields_to_force_null_refuses_fields_that_cannot_be_cleared(
    admin: ApiUser, field: str
) -> None:
    admin.create_case(Id="abc123")
    response = admin.patch("/api/cases", json={"Id": "abc123", "FieldsToForceNull": [field]})
    assert problem_errors(response) == {
        "FieldsToForceNull": [f"'{field}' cannot be cleared. Clearable: {CLEARABLE}."]
    }


def test_a_field_both_set_and_force_nulled_is_400(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.patch(
        "/api/cases",
        json={
            "Id": "abc123",
            "CustomerEmail": "a@example.com",
            "FieldsToForceNull": ["CustomerEmail"],
        },
    )
    assert problem_errors(response) == {
        "FieldsToForceNull": ["'CustomerEmail' is both given a value and listed to be cleared."]
    }


def test_a_refused_fields_to_force_null_changes_nothing(admin: ApiUser) -> None:
    before = admin.create_case(**FULL_CASE)
    admin.patch(
        "/api/cases",
        json={"Id": "abc123", "Subject": "Box crushed", "FieldsToForceNull": ["Subject"]},
    )
    assert admin.get("/api/cases/abc123").json() == before


def test_a_patch_that_changes_nothing_keeps_changed_and_the_etag(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json={**REFERENCE_CREATE, "Id": "abc123"})
    response = admin.patch(
        "/api/cases",
        json={"Id": "abc123", "Priority": "High", "Tags": ["Shipping", "Product Issue"]},
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == created.headers["ETag"]
    assert response.json()["Changed"] == created.json()["Changed"]


def test_force_nulling_an_empty_field_changes_nothing(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json={"Id": "abc123", "Subject": "Box crushed"})
    response = admin.patch(
        "/api/cases", json={"Id": "abc123", "FieldsToForceNull": ["FollowUpDate", "Tags"]}
    )
    assert response.headers["ETag"] == created.headers["ETag"]


def test_a_patch_that_changes_something_moves_changed_on(admin: ApiUser) -> None:
    before = admin.create_case(Id="abc123")
    after = admin.patch("/api/cases", json={"Id": "abc123", "Subject": "Box crushed"}).json()
    assert after["Changed"] >= before["Changed"]
    assert after["Created"] == before["Created"]


def test_server_managed_fields_in_a_patch_are_ignored(admin: ApiUser) -> None:
    before = admin.create_case(Id="abc123")
    after = admin.patch(
        "/api/cases",
        json={"Id": "abc123", "CaseNumber": "CS-9999", "CommentCount": 7, "Created": None},
    ).json()
    assert after == before


def test_a_patch_without_an_id_is_400_naming_id(admin: ApiUser) -> None:
    response = admin.patch("/api/cases", json={"Priority": "Critical"})
    assert problem_errors(response) == {"Id": ["The Id field is required."]}


def test_a_patch_of_an_unknown_case_is_404(admin: ApiUser) -> None:
    response = admin.patch("/api/cases", json=REFERENCE_PATCH)
    assert response.status_code == 404


# PUT


def test_put_replaces_the_case_and_empties_what_it_leaves_out(admin: ApiUser) -> None:
    admin.create_case(**FULL_CASE)
    response = admin.put(
        "/api/cases",
        json={"Id": "abc123", "Subject": "Box crushed", "Status": "New", "Priority": "Low"},
    )
    assert response.status_code == 200
    case = response.json()
    assert (case["Subject"], case["Priority"]) == ("Box crushed", "Low")
    for name in ("Description", "Source", "CustomerEmail", "FollowUpDate", "MarketId"):
        assert case[name] is None, name
    for name in ("Tags", "RelatedOrders", "Participants", "Properties", "CaseNotes"):
        assert case[name] == [], name
    assert (case["CommentCount"], case["LastCommentDate"], case["LastCommenterName"]) == (
        0,
        None,
        None,
    )


def test_put_keeps_the_identity_and_history_of_the_case(admin: ApiUser) -> None:
    before = admin.create_case(**FULL_CASE)
    after = admin.put(
        "/api/cases",
        json={"Id": "abc123", "Subject": "Box crushed", "Status": "New", "Priority": "Low"},
    ).json()
    for name in ("Id", "CaseNumber", "Created", "CaseStatusLog"):
        assert after[name] == before[name]


def test_put_without_subject_status_priority_and_id_names_each_missing_field(
    admin: ApiUser,
) -> None:
    response = admin.put("/api/cases", json={"Description": "Box crushed"})
    assert problem_errors(response) == {
        name: [f"The {name} field is required."] for name in ("Subject", "Status", "Priority", "Id")
    }


@pytest.mark.parametrize("missing", ["Id", "Subject", "Status", "Priority"])
def test_put_without_a_required_field_names_it(admin: ApiUser, missing: str) -> None:
    case = admin.create_case(Id="abc123")
    response = admin.put("/api/cases", json={k: v for k, v in case.items() if k != missing})
    assert problem_errors(response) == {missing: [f"The {missing} field is required."]}


def test_put_of_an_unknown_id_is_404_and_creates_nothing(admin: ApiUser) -> None:
    response = admin.put(
        "/api/cases",
        json={"Id": "abc123", "Subject": "Box crushed", "Status": "New", "Priority": "Low"},
    )
    assert response.status_code == 404
    assert admin.get("/api/cases/abc123").status_code == 404


def test_server_managed_fields_in_a_put_are_ignored(admin: ApiUser) -> None:
    before = admin.create_case(Id="abc123")
    after = admin.put(
        "/api/cases",
        json={
            **before,
            "CaseNumber": "CS-9999",
            "Created": "2000-01-01T00:00:00Z",
            "Changed": "2000-01-01T00:00:00Z",
            "CaseStatusLog": [],
            "ResolvedDate": "2000-01-01T00:00:00Z",
            "ClosedDate": "2000-01-01T00:00:00Z",
            "CommentCount": 42,
            "LastCommentDate": "2000-01-01T00:00:00Z",
            "LastCommenterName": "Nobody",
            "DeletedDate": "2000-01-01T00:00:00Z",
        },
    ).json()
    assert after == before


def test_get_modify_put_round_trips_a_full_case(admin: ApiUser) -> None:
    admin.create_case(**FULL_CASE)
    read = admin.get("/api/cases/abc123").json()
    response = admin.put("/api/cases", json={**read, "Subject": "Box crushed"})
    assert response.status_code == 200, response.text
    assert without_change_stamps(response.json()) == without_change_stamps(
        {**read, "Subject": "Box crushed"}
    )


def test_putting_back_an_unchanged_case_keeps_changed_and_the_etag(admin: ApiUser) -> None:
    admin.create_case(**FULL_CASE)
    read = admin.get("/api/cases/abc123")
    response = admin.put("/api/cases", json=read.json())
    assert response.json()["Changed"] == read.json()["Changed"]
    assert response.headers["ETag"] == read.headers["ETag"]


def test_put_with_notes_replaces_them_and_recounts_the_comments(admin: ApiUser) -> None:
    case = admin.create_case(**FULL_CASE)
    notes = {
        "CaseNotes": [
            {"Detail": "Refund sent.", "Created": "2026-03-16T08:00:00Z", "Creator": "Kari"},
            {"Detail": "Customer thanked us.", "Created": "2026-03-17T12:00:00Z"},
        ],
        "InternalNotes": [
            {
                "Detail": "Escalated to logistics.",
                "Created": "2026-03-18T09:30:00Z",
                "Creator": "Ola",
            }
        ],
    }
    after = admin.put("/api/cases", json={**case, **notes}).json()
    assert [note["Detail"] for note in after["CaseNotes"]] == [
        "Refund sent.",
        "Customer thanked us.",
    ]
    assert [note["Detail"] for note in after["InternalNotes"]] == ["Escalated to logistics."]
    assert after["CommentCount"] == 3
    assert after["LastCommentDate"] == "2026-03-18T09:30:00.000Z"
    assert after["LastCommenterName"] == "Ola"


def test_notes_put_in_each_list_get_that_list_type(admin: ApiUser) -> None:
    case = admin.create_case(Id="abc123")
    after = admin.put(
        "/api/cases",
        json={
            **case,
            "CaseNotes": [{"Detail": "Refund sent."}],
            "InternalNotes": [{"Detail": "Escalated to logistics."}],
        },
    ).json()
    assert [note["Type"] for note in after["CaseNotes"]] == ["Public"]
    assert [note["Type"] for note in after["InternalNotes"]] == ["Internal"]


def test_put_a_status_and_priority_in_any_case_stores_them_canonically(admin: ApiUser) -> None:
    case = admin.create_case(Id="abc123")
    after = admin.put(
        "/api/cases", json={**case, "Status": "in progress", "Priority": "CRITICAL"}
    ).json()
    assert (after["Status"], after["Priority"]) == ("In Progress", "Critical")


def test_a_reader_may_not_put(admin: ApiUser, reader: ApiUser) -> None:
    case = admin.create_case(Id="abc123")
    response = reader.put("/api/cases", json={**case, "Subject": "Box crushed"})
    assert response.status_code == 403
