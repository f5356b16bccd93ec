"""One key, one request: another request with it is a 422; keys of different users never meet;
a request that failed leaves its key free."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiUser, UserFactory
from tests.idempotency.calls import CASE_ID, PROBLEM_JSON, WRITES, case_count, prepare

KEY = "order-10542-create"


def assert_key_reused(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == 422
    assert "different request" in problem["detail"]


def test_the_same_key_with_another_body_is_a_422_and_creates_nothing(admin: ApiUser) -> None:
    WRITES["create"].send(admin, KEY)

    again = WRITES["create"].send(admin, KEY, json={"Subject": "Another case altogether"})

    assert_key_reused(again)
    assert case_count(admin) == 1


def test_the_same_key_on_another_path_is_a_422(admin: ApiUser) -> None:
    prepare(admin, WRITES["comment"])
    WRITES["comment"].send(admin, KEY)

    assert_key_reused(WRITES["assignto"].send(admin, KEY))


def test_the_same_key_with_another_query_is_a_422_and_changes_nothing(admin: ApiUser) -> None:
    write = WRITES["changestatus"]
    prepare(admin, write)
    write.send(admin, KEY)

    again = write.send(admin, KEY, params={"status": "Closed"})

    assert_key_reused(again)
    assert admin.get(f"/api/cases/{CASE_ID}").json()["Status"] == "In Progress"


def test_the_same_key_with_another_if_match_is_a_422(admin: ApiUser) -> None:
    write = WRITES["patch"]
    prepare(admin, write)
    write.send(admin, KEY, headers={"If-Match": '"1"'})

    assert_key_reused(write.send(admin, KEY, headers={"If-Match": "*"}))


def test_another_users_same_key_is_a_key_of_its_own(admin: ApiUser, make_user: UserFactory) -> None:
    colleague = make_user("CaseAdmin")
    mine = WRITES["create"].send(admin, KEY)

    theirs = WRITES["create"].send(colleague, KEY, json={"Subject": "Their own case"})

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["Id"] != mine.json()["Id"]
    assert case_count(admin) == 2


def test_a_user_of_another_tenant_has_keys_of_its_own(
    admin: ApiUser, make_user: UserFactory
) -> None:
    elsewhere = make_user("CaseAdmin", tenant="acme")
    WRITES["create"].send(admin, KEY)

    theirs = WRITES["create"].send(elsewhere, KEY)

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert case_count(elsewhere) == 1


def test_a_failed_request_leaves_its_key_free_for_the_corrected_one(admin: ApiUser) -> None:
    refused = WRITES["create"].send(admin, KEY, json={"Description": "No subject"})
    assert refused.status_code == 400

    corrected = WRITES["create"].send(admin, KEY)

    assert corrected.status_code == 201
    assert "Idempotent-Replayed" not in corrected.headers


def test_a_refused_write_is_not_replayed_but_tried_again(admin: ApiUser) -> None:
    missing = WRITES["comment"].send(admin, KEY)
    assert missing.status_code == 404
    prepare(admin, WRITES["comment"])

    tried_again = WRITES["comment"].send(admin, KEY)

    assert tried_again.status_code == 201
    assert tried_again.json()["CommentCount"] == 1
