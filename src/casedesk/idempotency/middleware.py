"""A plain ASGI middleware: a write with an Idempotency-Key claims it before the route runs,
and a retry is answered from the kept answer without reaching the route at all.

A request without the header costs a method check and a look through its headers, nothing
more. The operations that take part are those whose OpenAPI entry declares the header (their
route's `openapi_extra=IDEMPOTENT`), read once when the app builds its middleware (at startup);
elsewhere the header is ignored.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casedesk.auth import service as auth_service
from casedesk.auth import tokens
from casedesk.auth.policy import Actor, Role
from casedesk.config import Settings
from casedesk.errors import DomainError, InvalidInput
from casedesk.http.asgi import StatusWatch
from casedesk.http.problems import request_trace, send_problem
from casedesk.idempotency import rules, service
from casedesk.idempotency.answers import CLAIM, KEPT
from casedesk.idempotency.repository import KeyScope
from casedesk.storage.database import Database

log = logging.getLogger("casedesk")

_HEADER = rules.HEADER.lower().encode()
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class IdempotencyKeys:
    def __init__(
        self, app: ASGIApp, *, application: FastAPI, lifetime: timedelta, lease: timedelta
    ) -> None:
        self.app = app
        self.lifetime = lifetime
        self.lease = lease
        self._operations = _documented_operations(application)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name == _HEADER]
        if not keys or not self._is_idempotent(scope):
            await self.app(scope, receive, send)
            return
        await self._keyed(scope, receive, send, keys)

    def _is_idempotent(self, scope: Scope) -> bool:
        method, path = scope["method"], scope["path"]
        return any(method == m and pattern.match(path) for m, pattern in self._operations)

    async def _keyed(self, scope: Scope, receive: Receive, send: Send, keys: list[bytes]) -> None:
        headers = Headers(scope=scope)
        application: FastAPI = scope["app"]
        actor = await _actor(application, headers)
        if actor is None or Role.CASE_ADMIN not in actor.granted:
            # The route refuses it (401/403) and changes nothing: there is nothing to keep.
            await self.app(scope, receive, send)
            return
        trace = request_trace(scope)
        try:
            key = rules.parse_key(keys)
        except InvalidInput as error:
            await _problem(send, 400, error, trace=trace, field_errors=error.errors)
            return
        body, receive = await _buffered(receive)
        if body is None:
            return  # the client left before it sent its body
        fingerprint = rules.fingerprint(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b""),
            if_match=headers.get("if-match", "").encode("latin-1"),
            body=body,
        )
        key_scope = KeyScope(actor.tenant_id, actor.client_id, key)
        db: Database = application.state.db
        found: service.Claim | service.KeptAnswer | None
        try:
            # A read first, without the write lock: a duplicate of a request in flight (which
            # holds SQLite's write lock) is answered 409 at once instead of queueing behind it.
            async with db.readers() as session:
                found = await service.look_up(session, scope=key_scope, fingerprint=fingerprint)
            if found is None:
                async with db.write_transaction() as session:
                    found = await service.claim(
                        session,
                        scope=key_scope,
                        fingerprint=fingerprint,
                        lifetime=self.lifetime,
                        lease=self.lease,
                    )
        except service.KeyInFlight as error:
            await _problem(send, 409, error, trace=trace)
            return
        except service.KeyReused as error:
            await _problem(send, 422, error, trace=trace)
            return
        if isinstance(found, service.KeptAnswer):
            await _replay(send, found)
            return
        await self._run(scope, receive, send, db, found)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, db: Database, claim: service.Claim
    ) -> None:
        """Run the route holding the claim. A 2xx answer is sent only after the work and its
        kept answer committed together; any other outcome changed nothing, so the key is freed."""
        scope[CLAIM] = claim
        watched = StatusWatch(send)
        try:
            await self.app(scope, receive, watched)
        finally:
            status = watched.status
            succeeded, kept = 200 <= status < 300, bool(scope.get(KEPT))
            if succeeded and not kept:
                # The work committed but its answer was not kept: a retry will do it again.
                log.error(
                    "%s %s answered %d without keeping its answer: an idempotent route must "
                    "return through idempotency.answers.keep(...)",
                    scope["method"],
                    scope["path"],
                    status,
                )
            if not (succeeded and kept):
                await _release(db, claim)


def _documented_operations(application: FastAPI) -> list[tuple[str, re.Pattern[str]]]:
    """(method, path pattern) of every operation whose OpenAPI entry takes the header."""
    operations = []
    for path, entries in application.openapi()["paths"].items():
        for method, entry in entries.items():
            parameters = entry.get("parameters", [])
            if any(p["in"] == "header" and p["name"] == rules.HEADER for p in parameters):
                operations.append((method.upper(), compile_path(path)[0]))
    return operations


async def _actor(application: FastAPI, headers: Headers) -> Actor | None:
    token = tokens.bearer(headers.get("authorization"))
    if token is None:
        return None
    try:
        return await auth_service.authenticate_fast(
            application.state.fast_reader,
            token=token,
            keys=application.state.signing_keys,
        )
    except DomainError:
        return None


async def _buffered(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body, and a receive that hands it to the route as if it were read first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, receive
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replayed


async def _release(db: Database, claim: service.Claim) -> None:
    try:
        async with db.write_transaction() as session:
            await service.release(session, claim=claim)
    except Exception:
        # The lease runs out and frees the key all the same.
        log.exception("could not release Idempotency-Key %r", claim.scope.key)


async def _replay(send: Send, answer: service.KeptAnswer) -> None:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers.items()
    ]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _problem(
    send: Send,
    status: int,
    error: DomainError,
    *,
    trace: str,
    field_errors: dict[str, list[str]] | None = None,
) -> None:
    await send_problem(
        send, status, error.detail, trace=trace, title=error.title, field_errors=field_errors
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Idempotency-Key on every route that declares it; install before the body size limit,
    so that the limit applies while the middleware reads the body."""
    app.add_middleware(
        IdempotencyKeys,
        application=app,
        lifetime=timedelta(seconds=settings.idempotency_key_lifetime_seconds),
        lease=rules.claim_lease(settings.request_timeout_seconds),
    )
