"""Security headers on every answer, and CORS only for the origins an operator names."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]

# An API answer is data, never a page: it may load nothing and be framed by nobody.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "Idempotency-Key",
    "X-Request-Id",
)
CORS_EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "X-Request-Id",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Idempotent-Replayed",
)


class SecurityHeaders:
    """Pure ASGI: adds precomputed headers to every answer; which set depends only on the
    path (`/api/…` is never cached, the Swagger page gets its own policy)."""

    def __init__(
        self, app: ASGIApp, *, swagger_path: str, swagger_csp: str, hsts: str | None
    ) -> None:
        self.app = app
        self.swagger_path = swagger_path
        common: Headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts:
            common.append((b"strict-transport-security", hsts.encode()))
        self.other = [*common, (b"content-security-policy", API_CSP.encode())]
        self.api = [*self.other, (b"cache-control", b"no-store")]
        self.swagger = [*common, (b"content-security-policy", swagger_csp.encode())]

    def headers_for(self, path: str) -> Headers:
        if path.startswith("/api/"):
            return self.api
        if path == self.swagger_path:
            return self.swagger
        return self.other

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_cors(app: Starlette, origins: Sequence[str]) -> None:
    """Starlette's CORSMiddleware for exactly these origins (bearer tokens, never cookies);
    without origins nothing is added, so no Access-Control header is ever sent and a
    preflight is not granted."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_REQUEST_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
        allow_credentials=False,
        max_age=600,
    )
