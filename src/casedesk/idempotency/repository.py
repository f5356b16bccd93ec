from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.idempotency.models import IdempotencyKeyRow

Row = IdempotencyKeyRow


@dataclass(frozen=True)
class KeyScope:
    """A key as one API user of one tenant sent it: keys of different users never meet."""

    tenant_id: int
    client_id: str
    key: str


def _is(scope: KeyScope) -> ColumnElement[bool]:
    return and_(
        Row.tenant_id == scope.tenant_id, Row.client_id == scope.client_id, Row.key == scope.key
    )


async def get(session: AsyncSession, scope: KeyScope, *, for_update: bool = False) -> Row | None:
    """The stored key, read afresh; `for_update` locks it (PostgreSQL) until the commit."""
    statement = select(Row).where(_is(scope)).execution_options(populate_existing=True)
    if for_update:
        statement = statement.with_for_update()
    result = await session.execute(statement)
    return result.scalar_one_or_none()


async def insert_claim(
    session: AsyncSession,
    scope: KeyScope,
    *,
    fingerprint: str,
    claim: str,
    lease_until: datetime,
    created: datetime,
    expires: datetime,
) -> bool:
    """Claim an unknown key; False when another request inserted it first."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    result = await session.execute(
        dialect.insert(Row)
        .values(
            tenant_id=scope.tenant_id,
            client_id=scope.client_id,
            key=scope.key,
            fingerprint=fingerprint,
            claim=claim,
            lease_until=lease_until,
            created=created,
            expires=expires,
        )
        .on_conflict_do_nothing(index_elements=[Row.tenant_id, Row.client_id, Row.key])
        .returning(Row.key)
    )
    return result.first() is not None


async def take_over(
    session: AsyncSession, scope: KeyScope, *, previous: str, claim: str, lease_until: datetime
) -> bool:
    """Move an unfinished claim to a new request, only if it is still `previous`'s."""
    result = await session.execute(
        update(Row)
        .where(_is(scope), Row.claim == previous, Row.status_code.is_(None))
        .values(claim=claim, lease_until=lease_until)
        .returning(Row.key)
    )
    return result.first() is not None


async def complete(
    session: AsyncSession,
    scope: KeyScope,
    *,
    claim: str,
    status_code: int,
    headers: dict[str, str],
    body: bytes,
) -> bool:
    """Store the answer, only if `claim` still holds the key: False when it was taken over."""
    result = await session.execute(
        update(Row)
        .where(_is(scope), Row.claim == claim, Row.status_code.is_(None))
        .values(status_code=status_code, headers=headers, body=body)
        .returning(Row.key)
    )
    return result.first() is not None


async def release(session: AsyncSession, scope: KeyScope, *, claim: str) -> None:
    """Forget an unfinished claim of `claim`'s; a finished key, or another's claim, stays."""
    await session.execute(
        delete(Row).where(_is(scope), Row.claim == claim, Row.status_code.is_(None))
    )


async def delete_key(session: AsyncSession, scope: KeyScope) -> None:
    await session.execute(delete(Row).where(_is(scope)))


async def purge_expired(session: AsyncSession, *, now: datetime, limit: int) -> None:
    """Delete up to `limit` expired keys of any user; rows another transaction holds are
    skipped (PostgreSQL), so concurrent purges never wait for each other."""
    expired = (
        select(Row.tenant_id, Row.client_id, Row.key)
        .where(Row.expires <= now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        delete(Row).where(tuple_(Row.tenant_id, Row.client_id, Row.key).in_(expired))
    )
