"""Where buckets and in-flight counts live; every call is one short critical section."""

from __future__ import annotations

from typing import Protocol

from casedesk.ratelimit.bucket import Bucket, Decision


class Store(Protocol):
    """`acquire` and `release` limit API users; `check` and `charge` count failed token
    requests. The two kinds of key are kept apart: one never takes the other's room."""

    def acquire(self, key: str, bucket: Bucket, *, concurrent: int, now: int) -> Decision:
        """Admit a request when fewer than `concurrent` of the key's are in flight and its
        bucket holds a token; an admitted request takes both until `release`."""
        ...

    def release(self, key: str) -> None: ...

    def check(self, key: str, bucket: Bucket, *, now: int) -> Decision:
        """Whether the bucket holds a token, taking none; refused when there is no room left
        to count the key's failures."""
        ...

    def charge(self, key: str, bucket: Bucket, *, now: int) -> Decision:
        """Take a token after the fact: the level may fall below zero (down to -burst), so
        that attempts already in flight when the bucket ran dry still count."""
        ...
