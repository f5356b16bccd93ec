"""Token bucket arithmetic: exact, so that no rounding ever admits more than the bucket holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from casedesk.ratelimit.bucket import (
    NS,
    Bucket,
    decision,
    full_at,
    give_back,
    refilled,
    take,
)

OMNIUM = Bucket(burst=12_000, refill=1_000, refill_seconds=10)


def drain(bucket: Bucket, level: int, at: int, now: int, requests: int) -> tuple[int, int, int]:
    """`requests` requests at `now`: how many were admitted, and the bucket after them."""
    admitted = 0
    for _ in range(requests):
        ok, level, at = take(bucket, level, at, now)
        admitted += ok
    return admitted, level, at


def test_a_full_bucket_admits_its_burst_at_once_and_no_more() -> None:
    admitted, level, _ = drain(OMNIUM, OMNIUM.capacity, 0, 0, 12_001)
    assert admitted == 12_000
    assert level == 0


def test_ten_seconds_refill_a_thousand_requests() -> None:
    _, level, at = drain(OMNIUM, OMNIUM.capacity, 0, 0, 12_000)
    admitted, _, _ = drain(OMNIUM, level, at, 10 * NS, 1_001)
    assert admitted == 1_000


def test_refill_is_smooth_one_request_per_ten_milliseconds() -> None:
    assert refilled(OMNIUM, 0, 0, 10_000_000 - 1) < OMNIUM.unit
    assert refilled(OMNIUM, 0, 0, 10_000_000) == OMNIUM.unit


def test_the_bucket_never_holds_more_than_its_burst() -> None:
    assert refilled(OMNIUM, 0, 0, 3600 * NS) == OMNIUM.capacity


def test_a_clock_read_out_of_order_adds_nothing() -> None:
    assert refilled(OMNIUM, 5 * OMNIUM.unit, 100 * NS, 99 * NS) == 5 * OMNIUM.unit
    _, _, at = take(OMNIUM, OMNIUM.capacity, 100 * NS, 99 * NS)
    assert at == 100 * NS


def test_an_empty_bucket_is_full_again_after_two_minutes() -> None:
    assert full_at(OMNIUM, 0, 7 * NS) == 127 * NS
    assert decision(OMNIUM, 0, admitted=False).reset_seconds == 120


def test_a_decision_counts_whole_tokens_left_and_rounds_waits_up() -> None:
    half_token = OMNIUM.unit // 2
    answer = decision(OMNIUM, 3 * OMNIUM.unit + half_token, admitted=True)
    assert (answer.limit, answer.remaining) == (12_000, 3)
    refused = decision(OMNIUM, half_token, admitted=False)
    assert refused.remaining == 0
    assert refused.retry_after_seconds == 1  # 5 ms to the next token, rounded up
    slow = Bucket(burst=5, refill=1, refill_seconds=60)
    assert decision(slow, 0, admitted=False).retry_after_seconds == 60


def test_a_level_below_zero_waits_longer() -> None:
    slow = Bucket(burst=10, refill=1, refill_seconds=30)
    answer = decision(slow, -2 * slow.unit, admitted=False)
    assert answer.remaining == 0
    assert answer.retry_after_seconds == 90


def test_a_token_given_back_is_there_again() -> None:
    slow = Bucket(burst=10, refill=1, refill_seconds=30)
    _, level, at = take(slow, slow.capacity, 0, 0)
    assert give_back(slow, level, at, 0) == (slow.capacity, 0)


def test_a_token_given_back_never_overfills_the_bucket() -> None:
    slow = Bucket(burst=10, refill=1, refill_seconds=30)
    _, level, at = take(slow, slow.capacity, 0, 0)
    assert give_back(slow, level, at, 30 * NS) == (slow.capacity, 30 * NS)


buckets = st.builds(
    Bucket,
    burst=st.integers(1, 50),
    refill=st.integers(1, 1_000),
    refill_seconds=st.integers(1, 60),
)
# Gaps between requests, in ns: from a burst at one instant to idle minutes.
gaps = st.lists(st.integers(0, 120 * NS), min_size=1, max_size=300)


@given(bucket=buckets, gaps=gaps, start=st.integers(0, 10**15))
def test_never_more_than_burst_plus_refill_times_elapsed_are_admitted(
    bucket: Bucket, gaps: list[int], start: int
) -> None:
    level, at, now, admitted = bucket.capacity, start, start, 0
    for gap in gaps:
        now += gap
        ok, level, at = take(bucket, level, at, now)
        admitted += ok
        elapsed = now - start
        # admitted <= burst + refill x elapsed / refill_seconds, in whole numbers
        assert admitted * bucket.unit <= bucket.capacity + bucket.refill * elapsed


@given(bucket=buckets, gaps=gaps)
def test_a_request_is_refused_only_when_less_than_a_token_is_left(
    bucket: Bucket, gaps: list[int]
) -> None:
    level, at, now = bucket.capacity, 0, 0
    for gap in gaps:
        now += gap
        before = refilled(bucket, level, at, now)
        ok, level, at = take(bucket, level, at, now)
        assert ok == (before >= bucket.unit)
