"""POST /api/cases/{id}/comments: public and internal notes and the counts derived from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from casedesk import clock
from tests.conftest import ApiUser


def problem_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors


def comment(user: ApiUser, case_id: str, **fields: Any) -> dict[str, Any]:
    response = user.post(f"/api/cases/{case_id}/comments", json=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_comment_answers_201_with_the_whole_case(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/comments", json={"Detail": "Refund sent."})
    assert response.status_code == 201
    assert response.json() == admin.get("/api/cases/abc123").json()


def test_a_public_comment_goes_to_the_case_notes(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    case = comment(admin, "abc123", Detail="Refund sent.", Type="Public")
    assert [note["Detail"] for note in case["CaseNotes"]] == ["Refund sent."]
    assert case["InternalNotes"] == []


def test_a_comment_is_internal_by_default(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    case = comment(admin, "abc123", Detail="Courier confirmed the damage.")
    assert [note["Type"] for note in case["InternalNotes"]] == ["Internal"]
    assert case["CaseNotes"] == []


@pytest.mark.parametrize(
    ("sent", "notes"), [("public", "CaseNotes"), ("INTERNAL", "InternalNotes")]
)
def test_the_comment_type_is_matched_case_insensitively(
    admin: ApiUser, sent: str, notes: str
) -> None:
    admin.create_case(Id="abc123")
    case = comment(admin, "abc123", Detail="Refund sent.", Type=sent)
    assert [note["Type"] for note in case[notes]] == [sent.capitalize()]


def test_an_unknown_comment_type_is_400(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post(
        "/api/cases/abc123/comments", json={"Detail": "Refund sent.", "Type": "Secret"}
    )
    assert set(problem_errors(response)) == {"Type"}


def test_a_comment_gets_an_id_a_creation_time_and_the_api_user_as_creator(
    admin: ApiUser,
) -> None:
    admin.create_case(Id="abc123")
    case = comment(admin, "abc123", Detail="Refund sent.", Title="Refund")
    note = case["InternalNotes"][0]
    assert note["Id"]
    assert note["Created"] == case["Changed"]
    assert note["Creator"] == "CaseAdmin user"
    assert note["UserId"] == admin.client_id
    assert note["Title"] == "Refund"


def test_a_named_creator_is_kept(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    case = comment(admin, "abc123", Detail="Refund sent.", Creator="Kari Nordmann")
    assert case["InternalNotes"][0]["Creator"] == "Kari Nordmann"


def test_a_comment_updates_the_count_and_the_last_comment(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    comment(admin, "abc123", Detail="Refund sent.", Type="Public", Creator="Kari")
    case = comment(admin, "abc123", Detail="Courier confirmed the damage.", Creator="Ola")
    assert case["CommentCount"] == 2
    assert case["LastCommentDate"] == case["InternalNotes"][0]["Created"]
    assert case["LastCommenterName"] == "Ola"


def test_of_two_comments_in_the_same_millisecond_the_later_is_the_last(
    admin: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin.create_case(Id="abc123")
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 16, 8, 0))
    comment(admin, "abc123", Detail="Refund sent.", Type="Public", Creator="Kari")
    case = comment(admin, "abc123", Detail="Courier confirmed the damage.", Creator="Ola")
    assert case["LastCommenterName"] == "Ola"


def test_a_put_sending_back_notes_of_the_same_millisecond_keeps_the_last_commenter(
    admin: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by tests/battery/test_state_machine.py: the PUT recounted the tie in list order,
    # so the answer changed while its ETag did not.
    admin.create_case(Id="abc123")
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 16, 8, 0))
    comment(admin, "abc123", Detail="Refund sent.", Type="Public", Creator="Kari")
    commented = admin.post(
        "/api/cases/abc123/comments", json={"Detail": "Courier confirmed.", "Creator": "Ola"}
    )
    response = admin.put("/api/cases", json=commented.json())
    assert response.headers["ETag"] == commented.headers["ETag"]
    assert response.json() == commented.json()


def test_a_comment_changes_the_etag(admin: ApiUser) -> None:
    created = admin.post("/api/cases", json={"Id": "abc123", "Subject": "Order arrived damaged"})
    response = admin.post("/api/cases/abc123/comments", json={"Detail": "Refund sent."})
    assert response.headers["ETag"] != created.headers["ETag"]


def test_a_comment_without_detail_is_400_naming_detail(admin: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/comments", json={"Type": "Public"})
    assert problem_errors(response) == {"Detail": ["The Detail field is required."]}


@pytest.mark.parametrize("detail", ["", "  \n "])
def test_a_blank_comment_is_400_naming_detail(admin: ApiUser, detail: str) -> None:
    admin.create_case(Id="abc123")
    response = admin.post("/api/cases/abc123/comments", json={"Detail": detail})
    assert set(problem_errors(response)) == {"Detail"}


def test_a_refused_comment_adds_nothing(admin: ApiUser) -> None:
    before = admin.create_case(Id="abc123")
    admin.post("/api/cases/abc123/comments", json={"Detail": ""})
    assert admin.get("/api/cases/abc123").json() == before


def test_a_comment_on_an_unknown_case_is_404(admin: ApiUser) -> None:
    response = admin.post("/api/cases/nowhere/comments", json={"Detail": "Refund sent."})
    assert response.status_code == 404


def test_a_reader_may_not_comment(admin: ApiUser, reader: ApiUser) -> None:
    admin.create_case(Id="abc123")
    response = reader.post("/api/cases/abc123/comments", json={"Detail": "Refund sent."})
    assert response.status_code == 403
