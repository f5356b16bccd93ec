"""Token bucket arithmetic, pure and exact: levels are whole numbers, times are nanoseconds.

A level is counted in units of 1 / (refill_seconds * 10^9) token, so that `refill` tokens per
`refill_seconds` add exactly `refill` units per nanosecond and no rounding ever admits a
request the bucket does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Bucket:
    """Holds at most `burst` tokens; gains `refill` tokens every `refill_seconds`, smoothly."""

    burst: int
    refill: int
    refill_seconds: int
    unit: int = field(init=False)  # one token, in level units
    capacity: int = field(init=False)
    per_second: int = field(init=False)  # level units gained per second

    def __post_init__(self) -> None:
        unit = self.refill_seconds * NS
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "capacity", self.burst * unit)
        object.__setattr__(self, "per_second", self.refill * NS)


@dataclass(slots=True)
class Decision:
    """The answer to one request, with what its RateLimit headers say."""

    admitted: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after_seconds: int
    # Refused for the requests already in flight, not for want of a token.
    too_many_in_flight: bool = False


def refilled(bucket: Bucket, level: int, at: int, now: int) -> int:
    """The level at `now` of a bucket that held `level` at `at`; a clock read out of order
    adds nothing."""
    if now <= at:
        return level
    return min(bucket.capacity, level + (now - at) * bucket.refill)


def full_at(bucket: Bucket, level: int, now: int) -> int:
    """When a bucket at `level` now is full again, if nothing is taken meanwhile."""
    return now - (level - bucket.capacity) // bucket.refill


def decision(
    bucket: Bucket, level: int, *, admitted: bool, too_many_in_flight: bool = False
) -> Decision:
    """`level` is the bucket after the request: what remains, when it is full again, and when
    (if refused) the next token arrives."""
    unit, per_second = bucket.unit, bucket.per_second
    return Decision(
        admitted,
        bucket.burst,
        level // unit if level > 0 else 0,
        -(-(bucket.capacity - level) // per_second),
        -(-(unit - level) // per_second) if level < unit else 1,
        too_many_in_flight,
    )


def take(bucket: Bucket, level: int, at: int, now: int) -> tuple[bool, int, int]:
    """One request at `now`: whether a token was there, the new level and its time."""
    if now > at:
        level = min(bucket.capacity, level + (now - at) * bucket.refill)
        at = now
    if level < bucket.unit:
        return False, level, at
    return True, level - bucket.unit, at


def give_back(bucket: Bucket, level: int, at: int, now: int) -> tuple[int, int]:
    """A token taken earlier returned at `now`: the new level and its time, never above a full
    bucket."""
    return min(bucket.capacity, refilled(bucket, level, at, now) + bucket.unit), max(at, now)
