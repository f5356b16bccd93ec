"""DELETE /api/cases/{id} (a soft delete) and POST /api/cases/{id}/restore."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiUser

REQUESTS_ON_A_CASE: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/cases/abc123", {}),
    (
        "PUT",
        "/api/cases",
        {"json": {"Id": "abc123", "Subject": "Box crushed", "Status": "New", "Priority": "Low"}},
    ),
    ("PATCH", "/api/cases", {"json": {"Id": "abc123", "Subject": "Box crushed"}}),
    ("POST", "/api/cases/abc123/assignto", {"params": {"userId": "user-456"}}),
    ("POST", "/api/cases/abc123/changestatus", {"params": {"status": "Resolved"}}),
    ("POST", "/api/cases/abc123/comments", {"json": {"Detail": "Refund sent."}}),
    ("DELETE", "/api/cases/abc123", {}),
]


def search(user: ApiUser, **request: Any) -> list[dict[str, Any]]:
    response = user.post("/api/cases/search", json=request)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["Items"]
    return items


def test_delete_answers_200_with_the_deleted_case(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.delete("/api/cases/abc123")
    assert response.status_code == 200
    case = response.json()
    assert case["Id"] == "abc123"
    assert case["DeletedDate"] == case["Changed"]


@pytest.mark.parametrize(
    ("method", "url", "request_args"),
    REQUESTS_ON_A_CASE,
    ids=[f"{method} {url}" for method, url, _ in REQUESTS_ON_A_CASE],
)
def test_a_deleted_case_answers_404(
    admin: ApiUser, method: str, url: str, request_args: dict[str, Any]
) -> None:
    admin.create_case(Id="abc123")
    admin.delete("/api/cases/abc123")
    response = admin.request(method, url, **request_args)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_search_hides_a_deleted_case(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    admin.create_case(Id="def456")
    admin.delete("/api/cases/abc123")
    assert [case["Id"] for case in search(admin)] == ["def456"]


def test_search_with_include_deleted_shows_it_with_its_deleted_date(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    deleted = admin.delete("/api/cases/abc123").json()
    (found,) = search(admin, IncludeDeleted=True)
    assert found["Id"] == "abc123"
    assert found["DeletedDate"] == deleted["DeletedDate"]


def test_restore_brings_a_deleted_case_back(admin: ApiUser) -> None:
    created = admin.create_case(Id="abc123", Priority="High")
    admin.delete("/api/cases/abc123")
    response = admin.post("/api/cases/abc123/restore")
    assert response.status_code == 200
    restored = response.json()
    assert restored["DeletedDate"] is None
    assert restored["Priority"] == created["Priority"]
    assert admin.get("/api/cases/abc123").json() == restored


def test_a_restored_case_is_found_by_search_again(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    admin.delete("/api/cases/abc123")
    admin.post("/api/cases/abc123/restore")
    assert [case["Id"] for case in search(admin)] == ["abc123"]


def test_restoring_a_case_that_is_not_deleted_is_409(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/restore")
    assert response.status_code == 409


def test_restoring_an_unknown_case_is_404(admin: ApiUser) -> None:
    assert admin.post("/api/cases/nowhere/restore").status_code == 404


def test_deleting_an_unknown_case_is_404(admin: ApiUser) -> None:
    assert admin.delete("/api/cases/nowhere").status_code == 404


def test_a_reader_may_not_delete(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case(Id="abc123")
    assert reader.delete("/api/cases/abc123").status_code == 403
    assert admin.get("/api/cases/abc123").status_code == 200


def test_a_reader_may_not_restore(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case(Id="abc123")
    admin.delete("/api/cases/abc123")
    assert reader.post("/api/cases/abc123/restore").status_code == 403
