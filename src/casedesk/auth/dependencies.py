"""The acting user of a request: a read or search resolves it in the request's own session;
a GET by id and every write read it with the fast reader (fastread.py), a write before its
transaction begins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import repository, service, tokens
from casedesk.auth.policy import Actor, Role, require
from casedesk.auth.tokens import TokenClaims
from casedesk.errors import NotAuthenticated
from casedesk.http.request_log import note_actor
from casedesk.storage.database import ReadSession, SearchSession
from casedesk.storage.fastread import FastReader

T = TypeVar("T")


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise NotAuthenticated("Send an access token: Authorization: Bearer <token>.")
    token = tokens.bearer(header)
    if token is None:
        raise NotAuthenticated("The Authorization header must be 'Bearer <token>'.")
    return token


async def _actor(request: Request, session: AsyncSession, role: Role) -> Actor:
    actor = await service.authenticate(
        session, token=bearer_token(request), keys=request.app.state.signing_keys
    )
    note_actor(request.scope, client_id=actor.client_id, tenant_id=actor.tenant_id)
    require(actor, role)
    return actor


def reader(role: Role) -> Callable[..., Awaitable[Actor]]:
    async def dependency(request: Request, session: ReadSession) -> Actor:
        return await _actor(request, session, role)

    return dependency


def searcher(role: Role) -> Callable[..., Awaitable[Actor]]:
    async def dependency(request: Request, session: SearchSession) -> Actor:
        return await _actor(request, session, role)

    return dependency


def fast_reader(role: Role) -> Callable[..., Awaitable[Actor]]:
    """The actor, read with the fast reader (no session): for every write, before its
    transaction begins."""

    async def dependency(request: Request) -> Actor:
        actor, _ = await authenticated_read(request, role, _actor_alone)
        return actor

    return dependency


async def _actor_alone(reader: FastReader, claims: TokenClaims) -> tuple[Actor | None, None]:
    actor = await repository.fetch_actor(
        reader, client_id=claims.client_id, tenant_id=claims.tenant_id
    )
    return actor, None


async def authenticated_read(
    request: Request,
    role: Role,
    read: Callable[[FastReader, TokenClaims], Awaitable[tuple[Actor | None, T]]],
) -> tuple[Actor, T]:
    """fast_reader's checks around a `read` that fetches the acting user together with what
    the request asks for (one statement, see cases.repository.fetch_view_as)."""
    claims = tokens.verify(request.app.state.signing_keys, bearer_token(request))
    actor, value = await read(request.app.state.fast_reader, claims)
    if actor is None:
        raise NotAuthenticated(service.USER_GONE)
    note_actor(request.scope, client_id=actor.client_id, tenant_id=actor.tenant_id)
    require(actor, role)
    return actor, value


def writer(role: Role) -> Callable[..., Awaitable[Actor]]:
    """The actor for a write, read before the write transaction begins: the transaction then
    holds SQLite's write lock only for the write itself."""
    return fast_reader(role)


CaseReader = Annotated[Actor, Depends(reader(Role.CASE_READ))]
CaseSearcher = Annotated[Actor, Depends(searcher(Role.CASE_READ))]
CaseWriter = Annotated[Actor, Depends(writer(Role.CASE_ADMIN))]
OwnerWriter = Annotated[Actor, Depends(writer(Role.API_OWNER))]
