"""The pure rules: key syntax, what makes two requests the same, what a stored key means."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from casedesk.errors import InvalidInput
from casedesk.idempotency.answers import IDEMPOTENT
from casedesk.idempotency.models import IdempotencyKeyRow
from casedesk.idempotency.rules import Verdict, claim_lease, fingerprint, judge, parse_key

NOW = datetime(2026, 12, 1, 9, 0)
SAME: dict[str, Any] = {
    "method": "POST",
    "path": "/api/cases",
    "query": b"",
    "if_match": b"",
    "body": b'{"Subject":"Order arrived damaged"}',
}


@pytest.mark.parametrize(
    "raw",
    [
        b"a",
        b"x" * 255,
        b"550e8400-e29b-41d4-a716-446655440000",
        b"order 42 / retry ~!",
        b"!" + b" " * 253 + b"~",
    ],
)
def test_a_key_of_1_to_255_printable_ascii_characters_is_accepted(raw: bytes) -> None:
    assert parse_key([raw]) == raw.decode()


INVALID_KEYS = {
    "empty": b"",
    "256 characters": b"x" * 256,
    "not ascii": "café".encode(),
    "tab": b"tab\there",
    "control": b"bell\x07",
    "delete": b"del\x7f",
    "only a space": b" ",
    "leading space": b" order-42",
    "trailing space": b"order-42 ",
}


@pytest.mark.parametrize("raw", INVALID_KEYS.values(), ids=INVALID_KEYS.keys())
def test_any_other_key_is_invalid_input_naming_the_header(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_key([raw])
    assert list(raised.value.errors) == ["Idempotency-Key"]


@pytest.mark.parametrize(
    ("raw", "valid"),
    [(b"a", True), (b"order 42", True), (b" ", False), (b" a", False), (b"a ", False)],
)
def test_the_documented_pattern_is_the_rule(raw: bytes, valid: bool) -> None:
    (header,) = IDEMPOTENT["parameters"]
    assert bool(re.search(header["schema"]["pattern"], raw.decode())) is valid


def test_two_key_headers_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="one Idempotency-Key"):
        parse_key([b"first", b"second"])


def test_the_same_request_has_the_same_fingerprint() -> None:
    assert fingerprint(**SAME) == fingerprint(**dict(SAME))


@pytest.mark.parametrize(
    ("part", "other"),
    [
        ("method", "PUT"),
        ("path", "/api/cases/addmany"),
        ("query", b"status=Closed"),
        ("if_match", b'"3"'),
        ("body", b'{"Subject":"Order arrived damaged "}'),
    ],
)
def test_a_change_in_any_part_changes_the_fingerprint(part: str, other: Any) -> None:
    assert fingerprint(**{**SAME, part: other}) != fingerprint(**SAME)


@pytest.mark.parametrize(
    ("query", "same"),
    [
        (b"userName=John+Agent&userId=user-456", b"userId=user-456&userName=John+Agent"),
        (b"status=In%20Progress", b"status=In+Progress"),
    ],
    ids=["parameters in another order", "another escape of the same text"],
)
def test_the_same_query_parameters_have_the_same_fingerprint(query: bytes, same: bytes) -> None:
    assert fingerprint(**{**SAME, "query": query}) == fingerprint(**{**SAME, "query": same})


@pytest.mark.parametrize("query", [b"status=%F0%99%9F%B6", b"status=%FF", "status=𙟶".encode()])
def test_a_query_of_any_bytes_has_a_fingerprint_of_its_own(query: bytes) -> None:
    assert fingerprint(**{**SAME, "query": query}) != fingerprint(
        **{**SAME, "query": b"status=%3F"}
    )


def test_an_escaped_ampersand_is_part_of_the_value_not_another_parameter() -> None:
    assert fingerprint(**{**SAME, "query": b"userId=a%26userName%3Db"}) != fingerprint(
        **{**SAME, "query": b"userId=a&userName=b"}
    )


@pytest.mark.parametrize(
    ("timeout", "seconds"), [(1, 60), (30, 60), (31, 62), (45, 90), (3600, 7200)]
)
def test_a_claim_holds_its_key_twice_the_request_time_limit_and_at_least_a_minute(
    timeout: int, seconds: int
) -> None:
    assert claim_lease(timeout).total_seconds() == seconds


def test_text_moved_from_one_part_to_the_next_changes_the_fingerprint() -> None:
    assert fingerprint(**{**SAME, "path": "/api/cases/x", "query": b""}) != fingerprint(
        **{**SAME, "path": "/api/cases/", "query": b"x"}
    )


def stored(*, done: bool = False, lease_left: int = 30, expires_in: int = 3600) -> Any:
    return IdempotencyKeyRow(
        fingerprint="f1",
        claim="c1",
        lease_until=NOW + timedelta(seconds=lease_left),
        status_code=201 if done else None,
        created=NOW - timedelta(seconds=10),
        expires=NOW + timedelta(seconds=expires_in),
    )


@pytest.mark.parametrize(
    ("row", "sent", "verdict"),
    [
        (None, "f1", Verdict.CLAIM),
        (stored(done=True, expires_in=0), "f2", Verdict.CLAIM),
        (stored(done=True), "f2", Verdict.REUSED),
        (stored(), "f2", Verdict.REUSED),
        (stored(done=True), "f1", Verdict.REPLAY),
        (stored(done=True, lease_left=-30), "f1", Verdict.REPLAY),
        (stored(), "f1", Verdict.IN_FLIGHT),
        (stored(lease_left=0), "f1", Verdict.TAKE_OVER),
    ],
    ids=[
        "unknown",
        "expired",
        "done, other request",
        "in flight, other request",
        "done",
        "done, lease long over",
        "in flight",
        "lease ran out",
    ],
)
def test_what_a_stored_key_means(row: Any, sent: str, verdict: Verdict) -> None:
    assert judge(row, fingerprint=sent, now=NOW) is verdict
