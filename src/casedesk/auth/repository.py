from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth.models import ApiUserRow, InstanceSecretRow
from casedesk.auth.policy import Actor
from casedesk.storage.fastread import FastReader


async def get_user(session: AsyncSession, client_id: str) -> ApiUserRow | None:
    return await session.get(ApiUserRow, client_id)


async def get_actor(session: AsyncSession, *, client_id: str, tenant_id: int) -> Actor | None:
    """The active user behind a token, read as plain columns: this runs on every request."""
    result = await session.execute(
        select(ApiUserRow.name, ApiUserRow.roles).where(
            ApiUserRow.client_id == client_id,
            ApiUserRow.tenant_id == tenant_id,
            ApiUserRow.active.is_(True),
        )
    )
    row = result.first()
    if row is None:
        return None
    return Actor(
        client_id=client_id, name=row.name, tenant_id=tenant_id, roles=frozenset(row.roles)
    )


async def list_users(session: AsyncSession) -> list[ApiUserRow]:
    result = await session.execute(select(ApiUserRow).order_by(ApiUserRow.created))
    return list(result.scalars())


async def count_users(session: AsyncSession) -> int:
    result = await session.execute(select(func.count()).select_from(ApiUserRow))
    return int(result.scalar_one())


async def add_user(session: AsyncSession, user: ApiUserRow) -> None:
    session.add(user)
    await session.flush()


async def get_or_create_secret(session: AsyncSession, name: str, candidate: str) -> str:
    """The stored secret called `name`; `candidate` is stored first if there is none yet."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(InstanceSecretRow)
        .values(name=name, value=candidate)
        .on_conflict_do_nothing(index_elements=[InstanceSecretRow.name])
    )
    result = await session.execute(
        select(InstanceSecretRow.value).where(InstanceSecretRow.name == name)
    )
    return str(result.scalar_one())


async def lock_secret(session: AsyncSession, name: str) -> str | None:
    """The stored secret called `name`, locked until the transaction ends (PostgreSQL; a
    SQLite write transaction holds the whole database already)."""
    result = await session.execute(
        select(InstanceSecretRow.value).where(InstanceSecretRow.name == name).with_for_update()
    )
    value = result.scalar_one_or_none()
    return None if value is None else str(value)


async def replace_secret(session: AsyncSession, name: str, value: str) -> None:
    await session.execute(
        update(InstanceSecretRow).where(InstanceSecretRow.name == name).values(value=value)
    )


async def add_retiring_secret(
    session: AsyncSession, name: str, value: str, *, retires_at: datetime
) -> None:
    session.add(InstanceSecretRow(name=name, value=value, retires_at=retires_at))
    await session.flush()


async def retiring_secrets(
    session: AsyncSession, prefix: str, *, after: datetime
) -> list[tuple[str, datetime]]:
    """The secrets named `prefix…` still in their grace period after `after`, newest first."""
    result = await session.execute(
        select(InstanceSecretRow.value, InstanceSecretRow.retires_at)
        .where(
            InstanceSecretRow.name.startswith(prefix, autoescape=True),
            InstanceSecretRow.retires_at > after,
        )
        .order_by(InstanceSecretRow.retires_at.desc())
    )
    return [(str(value), until) for value, until in result if until is not None]


async def delete_retired_secrets(session: AsyncSession, *, before: datetime) -> None:
    await session.execute(delete(InstanceSecretRow).where(InstanceSecretRow.retires_at <= before))


# The acting user on the driver: its columns, and the condition on api_users (alias u).
ACTOR_COLUMNS = "u.name, u.roles"
ACTOR_WHERE = "u.client_id = %s AND u.tenant_id = %s AND u.active"
_ACTOR_SQL = f"SELECT {ACTOR_COLUMNS} FROM api_users u WHERE {ACTOR_WHERE}"


def actor_of(client_id: str, tenant_id: int, name: str, roles: str | list[str]) -> Actor:
    """An Actor from ACTOR_COLUMNS as the driver returns them."""
    if isinstance(roles, str):
        roles = orjson.loads(roles)
    return Actor(client_id=client_id, name=name, tenant_id=tenant_id, roles=frozenset(roles))


async def fetch_actor(reader: FastReader, *, client_id: str, tenant_id: int) -> Actor | None:
    """get_actor on the fast path: the same question, asked on the driver."""
    row = await reader.one(_ACTOR_SQL, (client_id, tenant_id))
    return None if row is None else actor_of(client_id, tenant_id, *row)
