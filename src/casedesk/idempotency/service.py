"""Claim a key, keep the answer with the work, replay it.

The guarantee that a write is never done twice rests on one rule: the answer is stored in the
write's own transaction (`complete`), so the key says "done" exactly when the work committed.
A claim only says "someone is working on it"; if that someone dies, nothing it did committed,
and once the claim's lease runs out a retry takes the key over. A request whose claim was
taken over cannot commit either: `complete` finds the claim gone and rolls its work back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.errors import Conflict, DomainError
from casedesk.idempotency import repository, rules
from casedesk.idempotency.models import IdempotencyKeyRow
from casedesk.idempotency.repository import KeyScope
from casedesk.idempotency.rules import Verdict

# Expired keys deleted by each new claim: more than one, so the table shrinks whenever keys
# are in use; bounded, so no request pays for a long idle spell.
PURGE_BATCH = 100


class KeyInFlight(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still in progress. Retry once it has "
            "answered, to get its answer."
        )


class KeyReused(DomainError):
    title = "Unprocessable Content"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was used for a different request (another method, path, query, "
            "If-Match or body). Use a new key for a new request."
        )


class KeyTakenOver(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "This request took longer than its Idempotency-Key lease, and a retry with the same "
            "key has taken over; nothing was changed by this one."
        )


@dataclass(frozen=True)
class Claim:
    """A key this request holds: it may do the work and store the answer."""

    scope: KeyScope
    token: str


@dataclass(frozen=True)
class KeptAnswer:
    status_code: int
    headers: dict[str, str]
    body: bytes


def _kept(row: IdempotencyKeyRow) -> KeptAnswer:
    assert row.status_code is not None
    assert row.body is not None
    return KeptAnswer(row.status_code, dict(row.headers or {}), row.body)


def _settle(row: IdempotencyKeyRow | None, verdict: Verdict) -> KeptAnswer | None:
    """The answer to replay, an error, or None when the key is free to claim or take over."""
    if verdict is Verdict.REUSED:
        raise KeyReused()
    if verdict is Verdict.IN_FLIGHT:
        raise KeyInFlight()
    if verdict is Verdict.REPLAY:
        assert row is not None
        return _kept(row)
    return None


async def look_up(session: AsyncSession, *, scope: KeyScope, fingerprint: str) -> KeptAnswer | None:
    """A read without any lock: the kept answer, KeyInFlight or KeyReused; None means claim."""
    row = await repository.get(session, scope)
    return _settle(row, rules.judge(row, fingerprint=fingerprint, now=clock.now()))


async def claim(
    session: AsyncSession,
    *,
    scope: KeyScope,
    fingerprint: str,
    lifetime: timedelta,
    lease: timedelta,
) -> Claim | KeptAnswer:
    """Claim the key for this request for `lease`, in a short transaction of its own, or settle
    it as look_up does when another request got there first. Purges some expired keys on the
    way."""
    now = clock.now()
    await repository.purge_expired(session, now=now, limit=PURGE_BATCH)
    token = secrets.token_hex(16)
    lease_until = now + lease
    # Twice at most: a key inserted by a concurrent claim after our read is read again.
    for _ in range(2):
        row = await repository.get(session, scope, for_update=True)
        verdict = rules.judge(row, fingerprint=fingerprint, now=now)
        kept = _settle(row, verdict)
        if kept is not None:
            return kept
        if verdict is Verdict.TAKE_OVER:
            assert row is not None
            if await repository.take_over(
                session, scope, previous=row.claim, claim=token, lease_until=lease_until
            ):
                return Claim(scope, token)
            continue
        if row is not None:  # expired: the key starts afresh
            await repository.delete_key(session, scope)
        if await repository.insert_claim(
            session,
            scope,
            fingerprint=fingerprint,
            claim=token,
            lease_until=lease_until,
            created=now,
            expires=now + lifetime,
        ):
            return Claim(scope, token)
    raise KeyInFlight()


async def complete(session: AsyncSession, *, claim: Claim, answer: KeptAnswer) -> None:
    """Mark the key done with its answer, in the transaction of the work itself."""
    done = await repository.complete(
        session,
        claim.scope,
        claim=claim.token,
        status_code=answer.status_code,
        headers=answer.headers,
        body=answer.body,
    )
    if not done:
        raise KeyTakenOver()


async def release(session: AsyncSession, *, claim: Claim) -> None:
    """Free the key of a request that changed nothing (it failed), so a retry runs afresh."""
    await repository.release(session, claim.scope, claim=claim.token)
