"""Client secrets: generated once, shown once, stored only as an Argon2 hash."""

from __future__ import annotations

import secrets
from functools import cache

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from casedesk.errors import Unavailable

# How long a verification waits for a turn before it is refused: a burst of logins (a few
# dozen per core) is served in turn, well within the request time limit.
WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 1


def production_hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile)."""
    return PasswordHasher()


_hasher = production_hasher()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """Verified against when the client id is unknown, so both paths cost the same."""
    return _hasher.hash("casedesk-no-such-client")


class Verifier:
    """Verifies at most `capacity` secrets at once, each in a thread of its own: Argon2 holds a
    core and 64 MiB while it runs, so a burst beyond the cap waits `wait_seconds` at most for
    a turn and is then refused, rather than queued on ever more threads."""

    def __init__(self, capacity: int, *, wait_seconds: float = WAIT_SECONDS) -> None:
        self._turns = anyio.CapacityLimiter(capacity)
        self._wait_seconds = wait_seconds

    async def verify(self, secret_hash: str, secret: str) -> bool:
        try:
            with anyio.fail_after(self._wait_seconds):
                await self._turns.acquire()
        except TimeoutError:
            raise Unavailable(
                "Too many client secrets are being checked at once; retry in a second.",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            ) from None
        try:
            return await anyio.to_thread.run_sync(verify_secret, secret_hash, secret)
        finally:
            self._turns.release()
