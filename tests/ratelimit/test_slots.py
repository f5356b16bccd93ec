"""The slot table: concurrency and buckets per key, shared by every process that maps it,
users and failed token requests kept apart."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from casedesk.ratelimit.bucket import NS, Bucket
from casedesk.ratelimit.shared_file import create_file
from casedesk.ratelimit.slots import SlotTable

BUCKET = Bucket(burst=5, refill=1, refill_seconds=60)
ROOMY = Bucket(burst=1_000, refill=1_000, refill_seconds=1)
FAILURES = Bucket(burst=3, refill=1, refill_seconds=3600)


def test_requests_are_admitted_until_the_concurrency_limit(table: SlotTable) -> None:
    answers = [table.acquire("alice", ROOMY, concurrent=3, now=0) for _ in range(4)]
    assert [a.admitted for a in answers] == [True, True, True, False]
    assert answers[-1].too_many_in_flight
    assert answers[-1].retry_after_seconds == 1


def test_a_released_request_frees_its_place(table: SlotTable) -> None:
    for _ in range(3):
        table.acquire("alice", ROOMY, concurrent=3, now=0)
    table.release("alice")
    assert table.acquire("alice", ROOMY, concurrent=3, now=0).admitted


def test_a_refused_request_takes_no_token(table: SlotTable) -> None:
    for _ in range(2):
        table.acquire("alice", BUCKET, concurrent=2, now=0)
    assert not table.acquire("alice", BUCKET, concurrent=2, now=0).admitted
    table.release("alice")
    assert table.acquire("alice", BUCKET, concurrent=2, now=0).remaining == 2


def test_the_bucket_refuses_once_empty_and_says_when_to_retry(table: SlotTable) -> None:
    answers = [table.acquire("alice", BUCKET, concurrent=100, now=0) for _ in range(6)]
    assert [a.remaining for a in answers[:5]] == [4, 3, 2, 1, 0]
    refused = answers[5]
    assert not refused.admitted
    assert not refused.too_many_in_flight
    assert (refused.retry_after_seconds, refused.reset_seconds) == (60, 300)
    assert table.acquire("alice", BUCKET, concurrent=100, now=60 * NS).admitted


def test_keys_are_limited_apart(table: SlotTable) -> None:
    for _ in range(5):
        table.acquire("alice", BUCKET, concurrent=100, now=0)
    assert not table.acquire("alice", BUCKET, concurrent=100, now=0).admitted
    assert table.acquire("bob", BUCKET, concurrent=100, now=0).remaining == 4


def test_reservations_are_refused_once_the_bucket_is_empty(table: SlotTable) -> None:
    answers = [table.reserve("alice", FAILURES, now=0) for _ in range(4)]
    assert [a.admitted for a in answers] == [True, True, True, False]
    assert answers[-1].retry_after_seconds == 3600
    assert table.reserve("alice", FAILURES, now=3600 * NS).admitted


def test_a_refund_gives_the_reservation_back(table: SlotTable) -> None:
    for _ in range(3):
        table.reserve("alice", FAILURES, now=0)
    table.refund("alice", FAILURES, now=0)
    assert table.reserve("alice", FAILURES, now=0).admitted
    assert not table.reserve("alice", FAILURES, now=0).admitted


def test_a_refund_for_a_key_without_a_slot_changes_nothing(table: SlotTable) -> None:
    table.refund("alice", FAILURES, now=0)
    assert table.reserve("alice", FAILURES, now=0).remaining == 2


def test_two_processes_mapping_one_file_share_the_limits(path: Path, table: SlotTable) -> None:
    other = SlotTable.open(path)
    try:
        for _ in range(3):
            other.acquire("alice", ROOMY, concurrent=5, now=0)
        answers = [table.acquire("alice", ROOMY, concurrent=5, now=0) for _ in range(3)]
        assert [a.admitted for a in answers] == [True, True, False]
        other.release("alice")
        assert table.acquire("alice", ROOMY, concurrent=5, now=0).admitted
    finally:
        other.close()


def test_a_full_idle_bucket_gives_its_slot_to_another_key(tmp_path: Path) -> None:
    create_file(tmp_path / "tiny", slots=16, workers=1)
    tiny = SlotTable.open(tmp_path / "tiny")
    try:
        for user in range(16):
            tiny.acquire(f"user-{user}", BUCKET, concurrent=5, now=0)
        tiny.release("user-3")
        # user-3 holds nothing in flight, and its bucket is full again a minute later.
        assert tiny.acquire("newcomer", BUCKET, concurrent=5, now=60 * NS).remaining == 4
        assert tiny.acquire("newcomer", BUCKET, concurrent=5, now=60 * NS).remaining == 3
    finally:
        tiny.close()


def test_a_full_table_admits_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    create_file(tmp_path / "tiny", slots=16, workers=1)
    tiny = SlotTable.open(tmp_path / "tiny")
    try:
        for user in range(16):
            tiny.acquire(f"user-{user}", BUCKET, concurrent=5, now=0)
        with caplog.at_level(logging.WARNING, logger="casedesk"):
            assert tiny.acquire("newcomer", BUCKET, concurrent=5, now=0).admitted
        assert "rate limit table full" in caplog.text
    finally:
        tiny.close()


def test_failed_token_requests_never_take_a_users_slot(tmp_path: Path) -> None:
    """Anyone can fail a token request: were failures to share the users' slots, enough of
    them would leave a user with none, and so unlimited."""
    create_file(tmp_path / "tiny", slots=16, failure_slots=16, workers=1)
    tiny = SlotTable.open(tmp_path / "tiny")
    try:
        for guess in range(64):
            tiny.reserve(f"token:guess-{guess}\x00192.0.2.7", FAILURES, now=0)
        answers = [tiny.acquire("alice", BUCKET, concurrent=100, now=0) for _ in range(6)]
        assert [a.admitted for a in answers] == [True] * 5 + [False]
    finally:
        tiny.close()


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[SlotTable]:
    """16 failure slots: every key's window is the whole region."""
    create_file(tmp_path / "tiny", slots=16, failure_slots=16, workers=1)
    opened = SlotTable.open(tmp_path / "tiny")
    yield opened
    opened.close()


def test_with_no_free_slot_a_new_key_is_counted_all_the_same(
    tiny: SlotTable, caplog: pytest.LogCaptureFixture
) -> None:
    for guess in range(16):
        tiny.reserve(f"token:guess-{guess}\x00192.0.2.7", FAILURES, now=0)
    with caplog.at_level(logging.WARNING, logger="casedesk"):
        answers = [tiny.reserve("token:alice\x00198.51.100.1", FAILURES, now=NS) for _ in range(4)]
    assert [a.admitted for a in answers] == [True, True, True, False]
    assert "failed token requests forget the counts nearest to running out" in caplog.text


def test_with_no_free_slot_the_count_that_runs_out_first_is_forgotten(tiny: SlotTable) -> None:
    for guess in range(16):
        for _ in range(2 if guess == 5 else 3):
            tiny.reserve(f"guess-{guess}", FAILURES, now=0)
    tiny.reserve("newcomer", FAILURES, now=0)
    assert tiny.reserve("guess-5", FAILURES, now=0).remaining == 2
    assert not tiny.reserve("guess-6", FAILURES, now=0).admitted


def test_filling_the_failure_region_does_not_free_a_throttled_key(tiny: SlotTable) -> None:
    """New keys, each failing once, push out one another rather than a key that has failed
    to its limit: its caller cannot switch its throttle off by inventing keys."""
    for _ in range(3):
        tiny.reserve("token-address:192.0.2.7", FAILURES, now=0)
    for guess in range(200):
        tiny.reserve(f"token:guess-{guess}\x00192.0.2.7", FAILURES, now=guess + 1)
    assert not tiny.reserve("token-address:192.0.2.7", FAILURES, now=201).admitted


def test_each_table_has_a_salt_of_its_own_that_all_its_workers_read(tmp_path: Path) -> None:
    create_file(tmp_path / "one", slots=16, workers=2)
    create_file(tmp_path / "two", slots=16, workers=2)
    first, second = SlotTable.open(tmp_path / "one"), SlotTable.open(tmp_path / "one")
    other = SlotTable.open(tmp_path / "two")
    try:
        assert first.salt == second.salt
        assert first.salt != other.salt
        assert len(first.salt) == 16
    finally:
        for table in (first, second, other):
            table.close()
