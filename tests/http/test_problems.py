"""Every error is RFC 9457 problem JSON; validation is a 400 naming each offending field."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from casedesk.config import Settings
from casedesk.http.problems import field_name, trace_id, validation_errors
from casedesk.main import create_app
from tests.conftest import ApiUser

PROBLEM_FIELDS = {"type", "title", "status", "detail", "traceId"}
JSON_HEADERS = {"Content-Type": "application/json"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["type"].endswith(str(status))
    assert body["title"]
    assert body["traceId"]
    return body


def assert_invalid(response: httpx.Response, *fields: str) -> dict[str, list[str]]:
    """A 400 whose `errors` name exactly these fields, each with at least one message."""
    body = assert_problem(response, 400)
    errors: dict[str, list[str]] = body["errors"]
    assert set(errors) == set(fields), errors
    assert all(messages and all(messages) for messages in errors.values())
    return errors


# Pure: the names a client sees for pydantic's error locations.


@pytest.mark.parametrize(
    ("loc", "name"),
    [
        (("body",), "$"),
        (("body", "Subject"), "Subject"),
        (("body", "Participants", 0, "Email"), "Participants[0].Email"),
        (("body", "Tags", 3), "Tags[3]"),
        (("query", "userId"), "userId"),
        (("Properties", 2, "Key"), "Properties[2].Key"),
    ],
)
def test_field_names_follow_aspnet_paths(loc: tuple[int | str, ...], name: str) -> None:
    assert field_name(loc) == name


def test_validation_errors_group_messages_by_field_without_repeats() -> None:
    raw = [
        {"type": "missing", "loc": ("body", "Subject"), "msg": "Field required"},
        {"type": "missing", "loc": ("body", "Subject"), "msg": "Field required"},
        {"type": "string_type", "loc": ("body", "Tags", 1), "msg": "Input should be a string"},
    ]
    assert validation_errors(raw) == {
        "Subject": ["The Subject field is required."],
        "Tags[1]": ["Input should be a string"],
    }


def test_malformed_json_is_reported_on_the_body_itself() -> None:
    raw = [{"type": "json_invalid", "loc": ("body", 7), "msg": "JSON decode error", "ctx": {}}]
    assert list(validation_errors(raw)) == ["$"]


# Over HTTP.


def test_missing_subject_is_a_400_not_a_422(admin: ApiUser) -> None:
    errors = assert_invalid(admin.post("/api/cases", json={}), "Subject")
    assert errors["Subject"] == ["The Subject field is required."]


def test_every_offending_field_is_named_including_nested_and_list_items(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases",
        json={
            "Subject": "Order arrived damaged",
            "Participants": [{"Name": "Jane"}, {"Email": 5}],
            "Tags": ["Shipping", "Damaged", "Urgent", ""],
            "Properties": [{"Value": "no key"}],
            "Priority": ["High"],
        },
    )
    assert_invalid(response, "Participants[1].Email", "Tags[3]", "Properties[0].Key", "Priority")


def test_unknown_fields_are_each_named(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases", json={"Subject": "Order arrived damaged", "Subjekt": "x", "Colour": "red"}
    )
    errors = assert_invalid(response, "Subjekt", "Colour")
    assert errors["Subjekt"] == ["'Subjekt' is not a known field."]


def test_the_detail_lists_the_offending_fields(admin: ApiUser) -> None:
    body = assert_problem(admin.post("/api/cases/search", json={"Page": -1, "Take": 0}), 400)
    assert "Page" in body["detail"]
    assert "Take" in body["detail"]


def test_malformed_json_is_a_400_on_the_body(admin: ApiUser) -> None:
    response = admin.post("/api/cases", content=b'{"Subject": ', headers=JSON_HEADERS)
    errors = assert_invalid(response, "$")
    assert "not valid JSON" in errors["$"][0]


def test_a_body_that_is_not_an_object_is_a_400(admin: ApiUser) -> None:
    # One user for all shapes: minting a user (argon2) is the slow part of these tests.
    for body in (b"[]", b'[{"Subject": "x"}]', b'"Order arrived damaged"', b"42", b"null", b"true"):
        response = admin.post("/api/cases", content=body, headers=JSON_HEADERS)
        assert_invalid(response, "$")


def test_a_body_that_is_not_utf8_is_a_400(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases/search", content=b'{"SearchText": "\xff\xfe"}', headers=JSON_HEADERS
    )
    assert_invalid(response, "$")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_a_415(admin: ApiUser, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = admin.post("/api/cases", content=b'{"Subject": "x"}', headers=headers)
    body = assert_problem(response, 415)
    assert "application/json" in body["detail"]


def test_json_with_a_charset_parameter_is_accepted(admin: ApiUser) -> None:
    response = admin.post(
        "/api/cases",
        content=b'{"Subject": "Order arrived damaged"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/api/nothing-here"), 404)
    assert "/api/nothing-here" in body["detail"]


def test_a_wrong_method_is_a_405_problem_naming_every_allowed_method(admin: ApiUser) -> None:
    response = admin.delete("/api/cases")
    assert_problem(response, 405)
    assert response.headers["Allow"] == "POST, PUT, PATCH"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/cases/search", "POST"),
        ("PUT", "/api/cases/search", "POST"),
        ("GET", "/api/cases/search", "POST"),
        ("DELETE", "/api/cases/search", "POST"),
        ("OPTIONS", "/api/cases/abc123", "GET, DELETE"),
        ("POST", "/api/cases/abc123", "GET, DELETE"),
        ("DELETE", "/api/cases/settings", "GET, PUT"),
        ("GET", "/api/cases/scroll", "POST"),
        ("GET", "/api/cases/addmany", "POST"),
        ("POST", "/api/cases/patchmany", "PATCH"),
        ("POST", "/api/cases/scroll/assignto", "GET"),
        ("GET", "/api/cases/abc123/assignto", "POST"),
        ("GET", "/api/token", "POST"),
        ("POST", "/health", "GET"),
        ("POST", "/swagger/v1/swagger.json", "GET, HEAD"),
    ],
)
def test_allow_lists_exactly_the_methods_of_the_resource(
    admin: ApiUser, method: str, path: str, allow: str
) -> None:
    """A literal path such as /api/cases/search is its own resource, never a case whose Id is
    "search": no case can have that Id (cases/schemas.py RESERVED_IDS)."""
    response = admin.request(method, path)
    assert_problem(response, 405)
    assert response.headers["Allow"] == allow


def test_allow_is_read_from_the_path_under_the_root_path_the_app_is_served_at(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings), root_path="/desk") as client:
        response = client.get("/desk/api/cases/search")
    assert_problem(response, 405)
    assert response.headers["Allow"] == "POST"


def test_the_case_routes_leave_the_process_wide_path_convertors_alone() -> None:
    """Starlette's convertor registry is shared by every app in the process: the reserved ids
    are kept out of a case's {id} by its route (cases/routes.py), not by a registered type."""
    probe = (
        "import starlette.convertors as c; before = set(c.CONVERTOR_TYPES); "
        "from casedesk.config import Settings; from casedesk.main import create_app; "
        "create_app(Settings()); print(sorted(set(c.CONVERTOR_TYPES) - before))"
    )
    added = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert added.stdout.strip() == "[]", added.stderr


def test_the_trace_id_echoes_the_callers_request_id(client: TestClient) -> None:
    response = client.get("/api/nothing-here", headers={"X-Request-Id": "req-42"})
    assert assert_problem(response, 404)["traceId"] == "req-42"


@pytest.mark.parametrize("request_id", ["", "   ", "\t", "r" * 201, "\xff\xfe", "a\x7fb"])
def test_a_request_id_that_is_blank_long_or_not_printable_gets_a_new_trace_id(
    request_id: str,
) -> None:
    trace = trace_id(request_id)
    assert trace != request_id.strip()
    assert len(trace) == 32


def test_a_request_id_is_echoed_without_surrounding_spaces() -> None:
    assert trace_id("  req-42 ") == "req-42"


def test_a_missing_token_is_a_401_problem_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/cases/abc123")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_missing_case_is_a_404_problem(admin: ApiUser) -> None:
    assert_problem(admin.get("/api/cases/abc123"), 404)


def test_a_reader_writing_is_a_403_problem(reader: ApiUser) -> None:
    assert_problem(reader.post("/api/cases", json={"Subject": "Order arrived damaged"}), 403)


OUT_OF_RANGE_PAGING: list[tuple[dict[str, Any], set[str]]] = [
    ({"Page": -1}, {"Page"}),
    ({"Take": -5}, {"Take"}),
    ({"Take": 0}, {"Take"}),
    ({"Take": 101}, {"Take"}),
    ({"Page": 10**30}, {"Page"}),
    ({"Take": 10**30}, {"Take"}),
    ({"Page": -(10**30), "Take": 10**30}, {"Page", "Take"}),
    ({"Page": 1.5}, {"Page"}),
    ({"Page": "many"}, {"Page"}),
    ({"Page": 5000, "Take": 100}, {"Page"}),
]


def test_out_of_range_paging_is_a_400(admin: ApiUser) -> None:
    for paging, fields in OUT_OF_RANGE_PAGING:
        assert_invalid(admin.post("/api/cases/search", json=paging), *fields)


def test_non_finite_numbers_for_paging_are_a_400(admin: ApiUser) -> None:
    for number in (b"1e400", b"-1e400", b"NaN", b"Infinity"):
        response = admin.post(
            "/api/cases/search", content=b'{"Page": ' + number + b"}", headers=JSON_HEADERS
        )
        assert_invalid(response, "Page")


BAD_DATES = [
    "2026-13-45",
    "2026-02-30T10:00:00Z",
    "yesterday",
    "",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-03-15T25:61:00Z",
]


def test_a_bad_follow_up_date_is_a_400(admin: ApiUser) -> None:
    for date in BAD_DATES:
        response = admin.post(
            "/api/cases", json={"Subject": "Order arrived damaged", "FollowUpDate": date}
        )
        assert_invalid(response, "FollowUpDate")


def test_a_bad_date_from_is_a_400(admin: ApiUser) -> None:
    for date in BAD_DATES:
        assert_invalid(admin.post("/api/cases/search", json={"DateFrom": date}), "DateFrom")


def test_the_latest_representable_utc_date_is_accepted(admin: ApiUser) -> None:
    response = admin.post("/api/cases/search", json={"DateTo": "9999-12-31T23:59:59Z"})
    assert response.status_code == 200, response.text


def test_an_unknown_sort_order_is_a_400(admin: ApiUser) -> None:
    assert_invalid(admin.post("/api/cases/search", json={"SortOrder": "Sideways"}), "SortOrder")


def test_a_missing_query_parameter_is_a_400_naming_it(admin: ApiUser) -> None:
    case = admin.create_case()
    assert_invalid(admin.post(f"/api/cases/{case['Id']}/assignto"), "userId")


def test_a_nul_in_a_path_parameter_is_a_400_naming_it(admin: ApiUser) -> None:
    errors = assert_invalid(admin.get("/api/cases/abc%00123"), "id")
    assert errors["id"] == ["Text must not contain NUL characters."]


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(client: TestClient) -> None:
    response = client.post("/api/token", params={"clientId": "a\x00b", "clientSecret": "s"})
    assert_invalid(response, "clientId")


def test_a_nul_in_a_request_body_is_a_400_naming_the_field(admin: ApiUser) -> None:
    response = admin.post("/api/cases", json={"Subject": "Order\x00arrived damaged"})
    assert_invalid(response, "Subject")
