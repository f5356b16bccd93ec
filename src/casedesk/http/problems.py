"""RFC 9457 problem JSON for every error, in the shape ASP.NET's ValidationProblemDetails has."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from casedesk import errors
from casedesk.storage.errors import unique_violation

PROBLEM_JSON = "application/problem+json"
_PROBLEM_JSON_BYTES = PROBLEM_JSON.encode()

_STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 400),
    (errors.NotAuthenticated, 401),
    (errors.NotPermitted, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.PreconditionFailed, 412),
    (errors.Unavailable, 503),
]

_TITLES = {
    400: "One or more validation errors occurred.",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "An unexpected error occurred.",
    503: "Service Unavailable",
}


class Problem(BaseModel):
    """An RFC 9457 problem; `errors` maps each offending field to its messages."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    traceId: str = Field(title="Trace Id")
    errors: dict[str, list[str]] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an operation can answer."""
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# A request id worth echoing: printable ASCII, short enough for a log line.
_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,200}")


def trace_id(request_id: str | None) -> str:
    """The caller's X-Request-Id when it sent a usable one, so its logs and ours line up; a
    new id instead of one that is blank, too long or not printable ASCII."""
    usable = (request_id or "").strip()
    return usable if _REQUEST_ID.fullmatch(usable) else uuid.uuid4().hex


# Where RequestLog (observability.py) leaves the request's final id: well formed, so usable
# as is. Defined here, not there, because observability.py sends its 500 through this module.
REQUEST_ID = "casedesk.request_id"


def request_trace(scope: Scope) -> str:
    """The trace id of a request: the id RequestLog gave it, else its X-Request-Id header."""
    request_id: str | None = scope.get(REQUEST_ID)
    if request_id is not None:
        return request_id
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            request_id = value.decode("latin-1")
            break
    return trace_id(request_id)


def problem_body(
    status: int,
    detail: str | None,
    *,
    trace: str,
    title: str | None = None,
    field_errors: dict[str, list[str]] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.io/{status}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "traceId": trace,
    }
    if field_errors is not None:
        body["errors"] = field_errors
    return orjson.dumps(body)


async def send_problem(
    send: Send,
    status: int,
    detail: str | None,
    *,
    trace: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    title: str | None = None,
    field_errors: dict[str, list[str]] | None = None,
) -> None:
    """A problem answer sent from plain ASGI code, outside FastAPI's exception handlers."""
    body = problem_body(status, detail, trace=trace, title=title, field_errors=field_errors)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", _PROBLEM_JSON_BYTES),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def problem(
    request: Request,
    status: int,
    detail: str | None,
    *,
    title: str | None = None,
    field_errors: dict[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = problem_body(
        status,
        detail,
        trace=request_trace(request.scope),
        title=title,
        field_errors=field_errors,
    )
    return Response(body, status, headers=headers, media_type=PROBLEM_JSON)


def field_name(loc: Sequence[int | str]) -> str:
    """('body', 'Participants', 0, 'Email') → 'Participants[0].Email'; the body itself is '$'."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "$"


def _message(error: dict[str, Any], name: str) -> str:
    kind = error.get("type")
    if kind == "missing":
        return f"The {name} field is required."
    if kind == "extra_forbidden":
        return f"'{name}' is not a known field."
    if kind == "json_invalid":
        return f"The body is not valid JSON: {error.get('ctx', {}).get('error', 'parse error')}."
    return str(error.get("msg", "Invalid value."))


def validation_errors(raw: Sequence[Any]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for error in raw:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            loc = loc[:1]
        name = field_name(loc)
        message = _message(error, name)
        if message not in grouped.setdefault(name, []):
            grouped[name].append(message)
    return grouped


def status_of(error: errors.DomainError) -> int:
    return next(code for kind, code in _STATUS if isinstance(error, kind))


def validation_detail(field_errors: Mapping[str, Sequence[str]]) -> str:
    return "See errors for each offending field: " + ", ".join(field_errors) + "."


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)
    status = status_of(exc)
    field_errors = exc.errors if isinstance(exc, errors.InvalidInput) else None
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, errors.Unavailable) and exc.retry_after_seconds is not None:
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    return problem(
        request, status, exc.detail, title=exc.title, field_errors=field_errors, headers=headers
    )


def _body_not_json(raw: Sequence[Any]) -> bool:
    """FastAPI hands the body over as bytes when its Content-Type is not JSON."""
    return any(
        tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes)
        for error in raw
    )


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if _body_not_json(raw):
        sent = request.headers.get("content-type") or "no Content-Type"
        return problem(
            request, 415, f"Send the body as JSON with Content-Type: application/json (got {sent})."
        )
    field_errors = validation_errors(raw)
    return problem(request, 400, validation_detail(field_errors), field_errors=field_errors)


# The order Allow lists methods in; a routed method missing here comes last.
_METHOD_PLACE = {
    method: place for place, method in enumerate(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"))
}


@runtime_checkable
class ClaimingRoute(Protocol):
    """A route that turns down some paths its pattern matches (a case's {id} is never a
    reserved id: cases/routes.py)."""

    def claims(self, path_params: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True)
class _Routed:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    claims: Callable[[Mapping[str, Any]], bool] | None

    def routes(self, path: str) -> bool:
        match = self.pattern.match(path)
        return match is not None and (self.claims is None or self.claims(match.groupdict()))


def index_routes(app: Starlette) -> None:
    """Keep each route's path pattern and methods for the Allow header of a 405: called once
    the app has all its routes. Mounts are left out: they answer 405 themselves."""
    app.state.routed = [
        _Routed(
            route.path_regex,
            frozenset(route.methods),
            route.original_route.claims
            if isinstance(route.original_route, ClaimingRoute)
            else None,
        )
        for route in iter_route_contexts(app.routes)
        if route.methods
    ]


def allowed_methods(app: Starlette, path: str) -> str:
    """The Allow header for a path: the methods of every route that routes it."""
    routed: list[_Routed] = app.state.routed
    methods = {method for route in routed if route.routes(path) for method in route.methods}
    last = len(_METHOD_PLACE)
    return ", ".join(sorted(methods, key=lambda method: (_METHOD_PLACE.get(method, last), method)))


def _route_path(scope: Scope) -> str:
    """The path the routes match: the request's, less the root path the app is served under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(f"{root}/")):
        return path[len(root) :]
    return path


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    field_errors = None
    if exc.status_code == 405:
        routed = allowed_methods(request.app, _route_path(request.scope))
        headers["Allow"] = routed or headers.get("Allow", "")
    elif exc.status_code == 400:
        # FastAPI's own "error parsing the body" (e.g. bytes that are not UTF-8).
        field_errors = {"$": [str(exc.detail)]}
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"Nothing is served at {request.url.path}."
    return problem(
        request, exc.status_code, detail, field_errors=field_errors, headers=headers or None
    )


def database_unavailable(error: BaseException) -> bool:
    """Whether a database error is a transient one worth a retry: a lost or refused
    PostgreSQL connection, a cancelled statement, a deadlock or serialisation failure."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error.orig, psycopg.OperationalError)
    return isinstance(error, psycopg.OperationalError)


async def _on_database_error(request: Request, exc: Exception) -> Response:
    if unique_violation(exc):
        # The use cases refuse what they know to be taken (an Id, a number prefix) by name;
        # anything else a unique constraint refuses is still a 409, never a 500.
        return await _on_domain_error(request, errors.ValueTaken())
    if not database_unavailable(exc):
        raise exc
    return problem(
        request,
        503,
        "The database connection was lost or the statement was interrupted. Retry the "
        "request; a write sent with an Idempotency-Key is applied at most once.",
        headers={"Retry-After": "1"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(psycopg.OperationalError, _on_database_error)
    app.add_exception_handler(psycopg.IntegrityError, _on_database_error)
    app.add_exception_handler(sqlite3.IntegrityError, _on_database_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(errors.DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
