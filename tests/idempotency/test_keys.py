"""The header itself: a malformed key is a 400; without a key nothing changes; where keys do not
apply they are ignored."""

from __future__ import annotations

import pytest

from tests.conftest import ApiUser, UserFactory
from tests.idempotency.calls import PROBLEM_JSON, WRITES, case_count, stored_keys


@pytest.mark.parametrize(
    "key",
    [b"", b"k" * 256, "café".encode(), b"tab\there", b"bell\x07", b" ", b"order-42 "],
    ids=[
        "empty",
        "256 characters",
        "not ascii",
        "tab",
        "control character",
        "a space",
        "trailing space",
    ],
)
def test_a_malformed_key_is_a_400_naming_the_header(
    admin: ApiUser, database_url: str, key: bytes
) -> None:
    response = admin.post(
        "/api/cases", json={"Subject": "Order arrived damaged"}, headers={"Idempotency-Key": key}
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM_JSON
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert case_count(admin) == 0
    assert stored_keys(database_url) == []


def test_two_key_headers_are_a_400(admin: ApiUser) -> None:
    response = admin.http.post(
        "/api/cases",
        json={"Subject": "Order arrived damaged"},
        headers=[*admin.headers.items(), ("Idempotency-Key", "one"), ("Idempotency-Key", "two")],
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]


def test_a_key_of_255_characters_is_accepted(admin: ApiUser) -> None:
    key = "k" * 255

    WRITES["create"].send(admin, key)

    assert WRITES["create"].send(admin, key).headers["Idempotent-Replayed"] == "true"


def test_without_a_key_every_request_does_its_work_and_nothing_is_kept(
    admin: ApiUser, database_url: str
) -> None:
    first = WRITES["create"].send(admin, None)
    second = WRITES["create"].send(admin, None)

    assert [first.status_code, second.status_code] == [201, 201]
    assert "Idempotent-Replayed" not in second.headers
    assert case_count(admin) == 2
    assert stored_keys(database_url) == []


def test_a_keyed_write_keeps_its_key(admin: ApiUser, database_url: str) -> None:
    WRITES["create"].send(admin, "kept-key")

    assert stored_keys(database_url) == ["kept-key"]


def test_the_key_is_ignored_where_it_does_not_apply(admin: ApiUser, database_url: str) -> None:
    admin.create_case()
    headers = {"Idempotency-Key": "search-key"}

    first = admin.post("/api/cases/search", json={}, headers=headers)
    admin.create_case()
    second = admin.post("/api/cases/search", json={}, headers=headers)

    assert [first.json()["TotalHits"], second.json()["TotalHits"]] == [1, 2]
    assert "Idempotent-Replayed" not in second.headers
    assert stored_keys(database_url) == []


def test_a_user_who_may_not_write_is_refused_and_keeps_no_key(
    make_user: UserFactory, database_url: str
) -> None:
    reader = make_user("CaseRead")

    response = WRITES["create"].send(reader, "reader-key")

    assert response.status_code == 403
    assert stored_keys(database_url) == []


def test_a_request_without_a_valid_token_is_refused_and_keeps_no_key(
    admin: ApiUser, database_url: str
) -> None:
    response = WRITES["create"].send(admin, "key", headers={"Authorization": "Bearer nonsense"})

    assert response.status_code == 401
    assert stored_keys(database_url) == []
