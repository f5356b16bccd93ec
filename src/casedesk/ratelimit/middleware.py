"""The ASGI edge of rate limiting: per API user on /api, per client id on the token endpoint.

The API user is the subject of the bearer token, read from the verified-token cache
(auth/tokens.py): no database is touched to decide. A request without a valid token is not
limited per user; it is refused by authentication before any database work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casedesk.auth import tokens
from casedesk.auth.tokens import SigningKeys
from casedesk.config import RateLimits, Settings
from casedesk.errors import NotAuthenticated
from casedesk.http import problems
from casedesk.http.asgi import StatusWatch
from casedesk.ratelimit.bucket import Bucket, Decision
from casedesk.ratelimit.shared_file import open_store
from casedesk.ratelimit.store import Store

TOKEN_PATH = "/api/token"
# One remote address may fail this many times more often than one client id from it.
ADDRESS_FACTOR = 10

Headers = list[tuple[bytes, bytes]]


def install(app: FastAPI, settings: Settings) -> None:
    """Limit every /api route, and say so in the OpenAPI document (call it after the document
    generator is in place), unless rate limits are switched off."""
    limits = settings.rate_limits
    if not limits.enabled:
        return
    app.add_middleware(RateLimit, limits=limits, signing_keys=lambda: app.state.signing_keys)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        for path, operations in document["paths"].items():
            if path.startswith("/api/"):
                for operation in operations.values():
                    operation["responses"].setdefault("429", _TOO_MANY_REQUESTS)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: RateLimits,
        signing_keys: Callable[[], SigningKeys],
        store: Store | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.app = app
        self.store = open_store(limits) if store is None else store
        self.clock = clock
        self.signing_keys = signing_keys
        self.concurrent = limits.concurrent
        self.per_user = Bucket(limits.burst, limits.refill, limits.refill_seconds)
        self.per_client_failures = Bucket(limits.token_failures, 1, limits.token_failure_seconds)
        self.per_address_failures = Bucket(
            limits.token_failures * ADDRESS_FACTOR, ADDRESS_FACTOR, limits.token_failure_seconds
        )
        self._limit = str(limits.burst).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if scope["path"] == TOKEN_PATH:
            await self._token_request(scope, receive, send)
            return
        user = self._api_user(scope)
        if user is None:
            await self.app(scope, receive, send)
            return
        decision = self.store.acquire(
            user, self.per_user, concurrent=self.concurrent, now=self.clock()
        )
        headers = self._headers(decision)
        if not decision.admitted:
            await _refuse(send, scope, decision.retry_after_seconds, _detail(decision), headers)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.store.release(user)

    def _api_user(self, scope: Scope) -> str | None:
        """The client id a valid bearer token speaks for."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = tokens.bearer(value.decode("latin-1"))
                if token is None:
                    return None
                try:
                    return tokens.verify(self.signing_keys(), token).client_id
                except NotAuthenticated:
                    return None
        return None

    def _headers(self, decision: Decision) -> Headers:
        return [
            (b"ratelimit-limit", self._limit),
            (b"ratelimit-remaining", str(decision.remaining).encode()),
            (b"ratelimit-reset", str(decision.reset_seconds).encode()),
        ]

    async def _token_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Failed attempts are counted per client id and remote address, and per address. An
        attempt reserves a failure in both before its secret is checked, so that attempts in
        flight count as well, and is refused when either has none left; an attempt answered
        with anything but 401 gives them back, so successes cost nothing."""
        client_id = _query_value(scope["query_string"], "clientId")
        if not client_id:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("",))[0]
        throttles = [
            (f"token:{client_id}\x00{address}", self.per_client_failures),
            (f"token-address:{address}", self.per_address_failures),
        ]
        now = self.clock()
        for taken, (key, bucket) in enumerate(throttles):
            decision = self.store.reserve(key, bucket, now=now)
            if not decision.admitted:
                self._refund(throttles[:taken])
                detail = (
                    "Too many failed token requests for this client id or address; "
                    f"retry after {decision.retry_after_seconds} s."
                )
                await _refuse(send, scope, decision.retry_after_seconds, detail, [])
                return
        watched = StatusWatch(send)
        await self.app(scope, receive, watched)
        # Cut off before answering (an exception skips this too), an attempt stays counted:
        # its secret may have been checked.
        if watched.status not in (0, 401):
            self._refund(throttles)

    def _refund(self, throttles: list[tuple[str, Bucket]]) -> None:
        now = self.clock()
        for key, bucket in throttles:
            self.store.refund(key, bucket, now=now)


def _query_value(query_string: bytes, name: str) -> str | None:
    """The last value given, as Starlette's QueryParams (and so FastAPI) reads it."""
    value = None
    for key, item in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key == name:
            value = item
    return value


def _detail(decision: Decision) -> str:
    if decision.too_many_in_flight:
        return "Too many concurrent requests for this API user; retry when one has finished."
    return (
        f"This API user has used its {decision.limit:,} requests; "
        f"retry after {decision.retry_after_seconds} s."
    )


async def _refuse(
    send: Send, scope: Scope, retry_after: int, detail: str, headers: Headers
) -> None:
    await problems.send_problem(
        send,
        429,
        detail,
        trace=problems.request_trace(scope),
        headers=[(b"retry-after", str(retry_after).encode()), *headers],
    )


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer"}}


_TOO_MANY_REQUESTS: dict[str, Any] = {
    "description": problems.problem_responses(429)[429]["description"],
    "headers": {
        "Retry-After": _header("Seconds to wait before trying again."),
        "RateLimit-Limit": _header("Requests the API user's bucket holds when full."),
        "RateLimit-Remaining": _header("Requests left in the bucket."),
        "RateLimit-Reset": _header("Seconds until the bucket is full again."),
    },
    "content": {problems.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
