"""API users and access tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth import passwords, repository, tokens
from casedesk.auth.models import ApiUserRow
from casedesk.auth.policy import ALL_MARKETS, MARKET_ROLE_PREFIX, Actor, Role, is_valid_role
from casedesk.auth.tokens import SigningKeys
from casedesk.errors import InvalidInput, NotAuthenticated, NotFound
from casedesk.storage.fastread import FastReader
from casedesk.tenants import service as tenants_service
from casedesk.tenants.models import DEFAULT_TENANT

OWNER_NAME = "owner"


@dataclass(frozen=True)
class NewUser:
    """A user just created: the only moment its secret is known."""

    client_id: str
    client_secret: str
    name: str
    roles: list[str]
    tenant: str


async def create_user(
    session: AsyncSession,
    *,
    name: str,
    roles: list[str],
    markets: list[str],
    tenant: str = DEFAULT_TENANT,
) -> NewUser:
    """A new API user. Without markets and without AllMarkets it gets AllMarkets."""
    unknown = [role for role in roles if not is_valid_role(role)]
    if unknown:
        allowed = ", ".join([*(r.value for r in Role), ALL_MARKETS, "market-<MarketId>"])
        raise InvalidInput({"Roles": [f"Unknown role {', '.join(unknown)}. Allowed: {allowed}."]})
    if not name.strip() or len(name) > 200:
        raise InvalidInput({"Name": ["Give a name of 1-200 characters."]})
    tenant_row = await tenants_service.require_tenant(session, name=tenant)
    if any(not market.strip() or len(market) > 100 for market in markets):
        raise InvalidInput({"Markets": ["A MarketId is 1-100 characters."]})
    all_roles = list(dict.fromkeys([*roles, *(f"{MARKET_ROLE_PREFIX}{m}" for m in markets)]))
    if not any(r == ALL_MARKETS or r.startswith(MARKET_ROLE_PREFIX) for r in all_roles):
        all_roles.append(ALL_MARKETS)
    secret = passwords.new_secret()
    user = ApiUserRow(
        client_id=str(uuid.uuid4()),
        tenant_id=tenant_row.id,
        name=name,
        secret_hash=passwords.hash_secret(secret),
        roles=all_roles,
        active=True,
        created=clock.now(),
    )
    await repository.add_user(session, user)
    return NewUser(user.client_id, secret, name, all_roles, tenant_row.name)


async def deactivate_user(session: AsyncSession, *, client_id: str) -> None:
    user = await repository.get_user(session, client_id)
    if user is None:
        raise NotFound(f"No API user has ClientId '{client_id}'.")
    user.active = False
    await session.flush()


async def bootstrap_owner(session: AsyncSession) -> NewUser | None:
    """On an instance without API users, create an ApiOwner so a newcomer can start at once."""
    if await repository.count_users(session) > 0:
        return None
    return await create_user(
        session, name=OWNER_NAME, roles=[Role.API_OWNER, ALL_MARKETS], markets=[]
    )


async def issue_token(
    session: AsyncSession,
    *,
    client_id: str,
    client_secret: str,
    key: str,
    lifetime_seconds: int,
    verifier: passwords.Verifier,
) -> str:
    user = await repository.get_user(session, client_id)
    secret_hash = user.secret_hash if user else passwords.dummy_hash()
    valid = await verifier.verify(secret_hash, client_secret)
    if user is None or not valid or not user.active:
        raise NotAuthenticated("Unknown client id or wrong client secret.")
    return tokens.issue(
        key,
        client_id=user.client_id,
        tenant_id=user.tenant_id,
        now=clock.now(),
        lifetime_seconds=lifetime_seconds,
    )


USER_GONE = "The access token's user is unknown or deactivated."


async def authenticate_fast(reader: FastReader, *, token: str, keys: SigningKeys) -> Actor:
    """authenticate, read straight on the driver for the hottest endpoints."""
    claims = tokens.verify(keys, token)
    actor = await repository.fetch_actor(
        reader, client_id=claims.client_id, tenant_id=claims.tenant_id
    )
    if actor is None:
        raise NotAuthenticated(USER_GONE)
    return actor


async def authenticate(session: AsyncSession, *, token: str, keys: SigningKeys) -> Actor:
    """The active user a token speaks for; a deactivated user is refused even with a live token."""
    claims = tokens.verify(keys, token)
    actor = await repository.get_actor(
        session, client_id=claims.client_id, tenant_id=claims.tenant_id
    )
    if actor is None:
        raise NotAuthenticated(USER_GONE)
    return actor
