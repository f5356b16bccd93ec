"""A retry with the same key answers what the first request answered, and does nothing again."""

from __future__ import annotations

import pytest

from tests.conftest import ApiUser
from tests.idempotency.calls import CASE_ID, WRITES, Write, case_count, prepare

KEY = "9b2f6c1e-retry-after-timeout"


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_retry_replays_the_first_answer(admin: ApiUser, write: Write) -> None:
    prepare(admin, write)

    first = write.send(admin, KEY)
    retry = write.send(admin, KEY)

    assert first.status_code == write.status, first.text
    assert "Idempotent-Replayed" not in first.headers
    assert retry.status_code == first.status_code
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.content == first.content
    assert retry.headers["Content-Type"] == first.headers["Content-Type"]
    for name in ("ETag", "Location"):
        assert retry.headers.get(name) == first.headers.get(name), name


def test_a_replayed_create_keeps_its_location_and_etag(admin: ApiUser) -> None:
    first = WRITES["create"].send(admin, KEY)
    retry = WRITES["create"].send(admin, KEY)

    assert retry.headers["Location"] == f"/api/cases/{first.json()['Id']}"
    assert retry.headers["ETag"] == '"1"'


def test_a_retry_with_its_query_parameters_in_another_order_is_replayed(admin: ApiUser) -> None:
    write = WRITES["assignto"]
    prepare(admin, write)
    first = write.send(admin, KEY)

    retry = write.send(admin, KEY, params=list(reversed(write.params.items())))

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.content == first.content


@pytest.mark.parametrize("name", ["create", "addmany"])
def test_a_retried_create_creates_nothing_more(admin: ApiUser, name: str) -> None:
    WRITES[name].send(admin, KEY)
    created = case_count(admin)

    WRITES[name].send(admin, KEY)

    assert case_count(admin) == created > 0


def test_a_retried_comment_is_added_once(admin: ApiUser) -> None:
    prepare(admin, WRITES["comment"])

    WRITES["comment"].send(admin, KEY)
    WRITES["comment"].send(admin, KEY)

    assert admin.get(f"/api/cases/{CASE_ID}").json()["CommentCount"] == 1


@pytest.mark.parametrize(
    ("name", "later"),
    [
        ("changestatus", {"Status": "Resolved"}),
        ("assignto", {"AssignedToUserId": "user-789", "AssignedToName": "Jane Agent"}),
        ("patch", {"Priority": "Low"}),
        ("replace", {"Subject": "Changed meanwhile"}),
        ("patchmany", {"Tags": ["Changed meanwhile"]}),
    ],
)
def test_a_retry_after_a_later_change_does_not_undo_it(
    admin: ApiUser, name: str, later: dict[str, object]
) -> None:
    write = WRITES[name]
    prepare(admin, write)
    first = write.send(admin, KEY)
    assert admin.patch("/api/cases", json={"Id": CASE_ID, **later}).status_code == 200
    changed = admin.get(f"/api/cases/{CASE_ID}")

    retry = write.send(admin, KEY)

    assert retry.content == first.content
    assert admin.get(f"/api/cases/{CASE_ID}").content == changed.content


@pytest.mark.parametrize(("name", "again"), [("delete", 404), ("restore", 409)])
def test_a_retry_answers_as_the_first_time_where_repeating_would_fail(
    admin: ApiUser, name: str, again: int
) -> None:
    write = WRITES[name]
    prepare(admin, write)

    first = write.send(admin, KEY)

    assert write.send(admin, None).status_code == again
    assert write.send(admin, KEY).status_code == first.status_code == 200
