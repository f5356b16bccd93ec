"""What every case write shares: field names on the wire, bounds on what is stored, and
optimistic concurrency through ETag and If-Match."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiUser

SUBJECT = "Order arrived damaged"
JSON_HEADERS = {"content-type": "application/json"}

# One request of each kind that writes to the case "abc123".
WRITES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "PUT": (
        "PUT",
        "/api/cases",
        {"json": {"Id": "abc123", "Subject": "Box crushed", "Status": "New", "Priority": "Low"}},
    ),
    "PATCH": ("PATCH", "/api/cases", {"json": {"Id": "abc123", "Subject": "Box crushed"}}),
    "assignto": ("POST", "/api/cases/abc123/assignto", {"params": {"userId": "user-456"}}),
    "changestatus": ("POST", "/api/cases/abc123/changestatus", {"params": {"status": "Resolved"}}),
    "comments": ("POST", "/api/cases/abc123/comments", {"json": {"Detail": "Refund sent."}}),
    "DELETE": ("DELETE", "/api/cases/abc123", {}),
    "restore": ("POST", "/api/cases/abc123/restore", {}),
}
ALL_WRITES = pytest.mark.parametrize("write", list(WRITES))

# Each body-carrying endpoint, with a body it accepts.
BODIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "create": ("POST", "/api/cases", {"Subject": SUBJECT}),
    "PUT": (
        "PUT",
        "/api/cases",
        {"Id": "abc123", "Subject": SUBJECT, "Status": "New", "Priority": "Low"},
    ),
    "PATCH": ("PATCH", "/api/cases", {"Id": "abc123", "Subject": SUBJECT}),
    "comments": ("POST", "/api/cases/abc123/comments", {"Detail": "Refund sent."}),
}
ALL_BODIES = pytest.mark.parametrize("endpoint", list(BODIES))


def problem_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors


def send(user: ApiUser, write: str, **extra: Any) -> Any:
    method, url, request_args = WRITES[write]
    return user.request(method, url, **request_args, **extra)


def prepare(user: ApiUser, write: str) -> tuple[str, str]:
    """Create "abc123" and change it once: its first ETag is stale, the last one current."""
    stale = user.post("/api/cases", json={"Id": "abc123", "Subject": SUBJECT}).headers["ETag"]
    if write == "restore":
        current = user.delete("/api/cases/abc123").headers["ETag"]
    else:
        current = user.patch("/api/cases", json={"Id": "abc123", "Priority": "High"}).headers[
            "ETag"
        ]
    assert stale != current
    return stale, current


def stored(user: ApiUser) -> dict[str, Any]:
    """The case "abc123" as stored, deleted or not."""
    response = user.post("/api/cases/search", json={"IncludeDeleted": True})
    (case,) = response.json()["Items"]
    assert isinstance(case, dict)
    return case


# Optimistic concurrency


def test_every_case_response_carries_an_etag(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json={"Id": "abc123", "Subject": SUBJECT})
    assert created.headers["ETag"] == admin.get("/api/cases/abc123").headers["ETag"]


@ALL_WRITES
def test_a_write_with_a_stale_if_match_is_412(admin: ApiUser, write: str) -> None:
    stale, _ = prepare(admin, write)
    response = send(admin, write, headers={"If-Match": stale})
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"


@ALL_WRITES
def test_a_write_with_a_stale_if_match_changes_nothing(admin: ApiUser, write: str) -> None:
    stale, _ = prepare(admin, write)
    before = stored(admin)
    send(admin, write, headers={"If-Match": stale})
    assert stored(admin) == before


@ALL_WRITES
def test_a_write_with_the_current_etag_applies(admin: ApiUser, write: str) -> None:
    _, current = prepare(admin, write)
    response = send(admin, write, headers={"If-Match": current})
    assert response.status_code in (200, 201), response.text
    assert response.headers["ETag"] != current


@ALL_WRITES
def test_a_write_without_if_match_applies(admin: ApiUser, write: str) -> None:
    _, current = prepare(admin, write)
    response = send(admin, write)
    assert response.status_code in (200, 201), response.text
    assert response.headers["ETag"] != current


@ALL_WRITES
def test_a_write_with_if_match_star_applies(admin: ApiUser, write: str) -> None:
    _, current = prepare(admin, write)
    response = send(admin, write, headers={"If-Match": "*"})
    assert response.status_code in (200, 201), response.text
    assert response.headers["ETag"] != current


def test_if_match_listing_the_current_etag_among_others_applies(admin: ApiUser) -> None:
    stale, current = prepare(admin, "PATCH")
    response = send(admin, "PATCH", headers={"If-Match": f"{stale}, {current}"})
    assert response.status_code == 200


@ALL_WRITES
@pytest.mark.parametrize("sent", ["3", "abc", '"3', '"3" "4"', "*, W/x"])
def test_an_if_match_that_is_no_list_of_entity_tags_is_400_and_changes_nothing(
    admin: ApiUser, write: str, sent: str
) -> None:
    prepare(admin, write)
    before = stored(admin)
    response = send(admin, write, headers={"If-Match": sent})
    assert response.status_code == 400, response.text
    assert set(response.json()["errors"]) == {"If-Match"}
    assert stored(admin) == before


def test_a_weak_etag_never_matches(admin: ApiUser) -> None:
    _, current = prepare(admin, "PATCH")
    response = send(admin, "PATCH", headers={"If-Match": f"W/{current}"})
    assert response.status_code == 412


# Field names


@ALL_BODIES
def test_unknown_fields_are_400_naming_each(admin: ApiUser, endpoint: str) -> None:
    admin.create_case(Id="abc123")
    method, url, body = BODIES[endpoint]
    response = admin.request(method, url, json={**body, "Colour": "red", "Sise": 3})
    assert problem_errors(response) == {
        "Colour": ["'Colour' is not a known field."],
        "Sise": ["'Sise' is not a known field."],
    }


def test_an_unknown_field_inside_a_list_item_is_named_by_its_path(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases", json={"Subject": SUBJECT, "Participants": [{"Name": "Jane", "Emial": "x"}]}
    )
    assert problem_errors(response) == {
        "Participants[0].Emial": ["'Participants[0].Emial' is not a known field."]
    }


def test_camel_case_field_names_are_accepted(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases",
        json={"subject": "Box crushed", "customerName": "Jane Smith", "relatedOrders": ["ORD-1"]},
    )
    case = response.json()
    assert (case["Subject"], case["CustomerName"], case["RelatedOrders"]) == (
        "Box crushed",
        "Jane Smith",
        ["ORD-1"],
    )


def test_lower_case_field_names_are_accepted(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.patch("/api/cases", json={"id": "abc123", "priority": "Critical"})
    assert response.json()["Priority"] == "Critical"


def test_nested_field_names_are_matched_case_insensitively(admin: ApiUser) -> None:
    case = admin.create_case(participants=[{"name": "Jane Smith", "EMAIL": "jane@example.com"}])
    assert case["Participants"] == [
        {"Name": "Jane Smith", "Email": "jane@example.com", "CustomerId": None, "Role": None}
    ]


def test_the_same_field_twice_in_different_case_is_400(admin: ApiUser) -> None:
    response = admin.post("/api/cases", json={"Subject": SUBJECT, "subject": "Box crushed"})
    (messages,) = problem_errors(response).values()
    assert messages == ["The field Subject is given more than once."]


@pytest.mark.parametrize("body", ["[]", '"Order arrived damaged"', "{", ""])
def test_a_body_that_is_not_a_json_object_is_400(admin: ApiUser, body: str) -> None:
    response = admin.post("/api/cases", content=body, headers=JSON_HEADERS)
    assert response.status_code == 400


# Bounds


def test_a_subject_of_500_characters_is_accepted(admin: ApiUser) -> None:
    assert len(admin.create_case(Subject="x" * 500)["Subject"]) == 500


@pytest.mark.parametrize("endpoint", ["create", "PUT", "PATCH"])
def test_a_subject_over_500_characters_is_400(admin: ApiUser, endpoint: str) -> None:
    admin.create_case(Id="abc123")
    method, url, body = BODIES[endpoint]
    response = admin.request(method, url, json={**body, "Subject": "x" * 501})
    assert set(problem_errors(response)) == {"Subject"}


def test_200_tags_are_accepted(admin: ApiUser) -> None:
    tags = [f"tag-{n:03d}" for n in range(200)]
    assert admin.create_case(Tags=tags)["Tags"] == tags


def test_201_tags_are_400(admin: ApiUser) -> None:
    tags = [f"tag-{n:03d}" for n in range(201)]
    response = admin.post("/api/cases", json={"Subject": SUBJECT, "Tags": tags})
    assert set(problem_errors(response)) == {"Tags"}


@pytest.mark.parametrize(
    "body",
    [
        {"Subject": SUBJECT, "Tags": ["Ship\x00ping"]},
        {"Subject": SUBJECT, "Participants": [{"Name": "Jane\x00"}]},
        {"Subject": SUBJECT, "CaseNotes": [{"Detail": "Refund\x00sent."}]},
        {"Id": "abc\x00123", "Subject": SUBJECT},
    ],
    ids=["tag", "participant", "note", "id"],
)
def test_a_nul_character_anywhere_in_a_new_case_is_400(
    admin: ApiUser, body: dict[str, Any]
) -> None:
    assert admin.post("/api/cases", json=body).status_code == 400


def test_a_nul_character_in_the_subject_is_400(admin: ApiUser) -> None:
    response = admin.post("/api/cases", json={"Subject": "Order\x00arrived"})
    assert problem_errors(response) == {"Subject": ["Text must not contain NUL characters."]}


def test_a_lone_surrogate_in_the_subject_is_400(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases", content='{"Subject": "Order \\ud800 arrived"}', headers=JSON_HEADERS
    )
    assert set(problem_errors(response)) == {"Subject"}


@pytest.mark.parametrize(
    "body",
    [
        '{"Id": "abc123", "CustomerName": "Jane \\udfff"}',
        '{"Id": "abc123", "Tags": ["\\ud800"]}',
        '{"Id": "abc123", "Participants": [{"Name": "\\ud800"}]}',
        '{"Id": "abc123", "FieldsToForceNull": ["\\ud800"]}',
        '{"Id": "abc123", "\\ud800": 1}',
        '{"Id": "abc123", "Status": "\\ud800"}',
    ],
)
def test_a_lone_surrogate_anywhere_in_a_patch_is_400(admin: ApiUser, body: str) -> None:
    admin.create_case(Id="abc123")
    response = admin.patch("/api/cases", content=body, headers=JSON_HEADERS)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("method", "url", "named"),
    [
        ("GET", "/api/cases/abc%00123", "id"),
        ("DELETE", "/api/cases/abc%00123", "id"),
        ("POST", "/api/cases/abc123/assignto?userId=user%00456", "userId"),
        ("POST", "/api/cases/abc123/assignto?userId=user-456&userName=John%00Agent", "userName"),
        ("POST", "/api/cases/abc123/changestatus?status=New%00", "status"),
    ],
)
def test_a_nul_character_in_the_url_is_400_naming_the_parameter(
    admin: ApiUser, method: str, url: str, named: str
) -> None:
    admin.create_case(Id="abc123")
    response = admin.request(method, url)
    assert problem_errors(response) == {named: ["Text must not contain NUL characters."]}


def test_a_blank_user_id_in_assignto_is_400(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/assignto?userId=%20%20")
    assert set(problem_errors(response)) == {"userId"}


def test_bytes_that_are_not_utf_8_in_a_query_parameter_become_replacement_characters(
    admin: ApiUser,
) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/assignto?userId=user-456&userName=%ED%A0%80")
    assert response.json()["AssignedToName"] == "\ufffd\ufffd\ufffd"
