"""Where buckets and in-flight counts live; every call is one short critical section."""

from __future__ import annotations

from typing import Protocol

from casedesk.ratelimit.bucket import Bucket, Decision


class Store(Protocol):
    """`acquire` and `release` limit API users; `reserve` and `refund` count failed token
    requests. The two kinds of key are kept apart: one never takes the other's room."""

    def acquire(self, key: str, bucket: Bucket, *, concurrent: int, now: int) -> Decision:
        """Admit a request when fewer than `concurrent` of the key's are in flight and its
        bucket holds a token; an admitted request takes both until `release`."""
        ...

    def release(self, key: str) -> None: ...

    def reserve(self, key: str, bucket: Bucket, *, now: int) -> Decision:
        """Take a token before the attempt it counts is made, so that attempts in flight
        count; refused when the bucket holds none. A key without room takes the room of the
        key whose count runs out first: it never refuses another key."""
        ...

    def refund(self, key: str, bucket: Bucket, *, now: int) -> None:
        """Give back a token `reserve` took, for an attempt that turned out no failure."""
        ...
