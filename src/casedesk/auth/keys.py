"""The keys that sign access tokens: the configured ones, or one generated on first start and
kept in the database, which `casedesk keys rotate` replaces while the old one keeps verifying
tokens for a grace period (docs/operations.md, "Signing key")."""

from __future__ import annotations

import math
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth import repository
from casedesk.auth.tokens import RetiringKey, SigningKeys

SIGNING_KEY = "jwt-signing-key"
_RETIRING = f"{SIGNING_KEY}:retired:"


def new_key() -> str:
    return secrets.token_urlsafe(48)


async def load(
    session: AsyncSession, *, configured: str | None, previous: str | None = None
) -> SigningKeys:
    """The configured key (and the previous one, for as long as it is configured); without
    one, the stored key and the stored keys still in their grace period."""
    if configured:
        return SigningKeys(configured, (RetiringKey(previous, math.inf),) if previous else ())
    current = await repository.get_or_create_secret(session, SIGNING_KEY, new_key())
    retiring = await repository.retiring_secrets(session, _RETIRING, after=clock.now())
    return SigningKeys(
        current, tuple(RetiringKey(key, clock.epoch_seconds(until)) for key, until in retiring)
    )


async def rotate(session: AsyncSession, *, grace_seconds: int) -> datetime | None:
    """Replace the stored key; the old one keeps verifying tokens for `grace_seconds`.
    Returns when it stops (None: there was no key yet). Keys whose grace has ended are
    deleted."""
    now = clock.now()
    retires_at = now + timedelta(seconds=grace_seconds)
    old = await repository.lock_secret(session, SIGNING_KEY)
    await repository.delete_retired_secrets(session, before=now)
    if old is None:
        await repository.get_or_create_secret(session, SIGNING_KEY, new_key())
        return None
    if grace_seconds > 0:
        name = f"{_RETIRING}{uuid.uuid4().hex[:12]}"
        await repository.add_retiring_secret(session, name, old, retires_at=retires_at)
    await repository.replace_secret(session, SIGNING_KEY, new_key())
    return retires_at
