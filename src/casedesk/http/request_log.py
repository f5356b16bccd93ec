"""One JSON log line per request, under the request's id, and never a secret in it.

The id is the caller's `X-Request-Id` when it is well formed, else a new one shaped like
ASP.NET's trace ids (`00-<32 hex>-<16 hex>-00`). The request carries it downstream as its
`X-Request-Id` header and in `scope[REQUEST_ID]`, so every layer (problem bodies'
`traceId`, the body and time limits, rate limits, idempotency) names the same id; the answer
carries it back.

What a line holds: method, the route's path template (null when no route matched), status,
duration, request id, and the API user's client id and tenant once authentication has
named them. Never headers, query strings or bodies: the
token endpoint takes its secret in the query, every other endpoint a token in a header.
"""

from __future__ import annotations

import logging
import random
import re
import time
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casedesk.http.guards import ABANDONED
from casedesk.http.problems import REQUEST_ID as REQUEST_ID
from casedesk.http.problems import send_problem

log = logging.getLogger("casedesk.access")

# Letters, digits and the punctuation of common id formats (UUID, ULID, W3C traceparent,
# base64): nothing that could break a log line or a header.
_WELL_FORMED_ID = re.compile(rb"[A-Za-z0-9._:=+/@-]{1,128}")
_ACTOR = "casedesk.actor"


def new_request_id() -> str:
    """A W3C trace-context id, the shape ASP.NET gives `traceId` in its problem bodies.
    Unique, not secret: Python's generator is reseeded in every worker process."""
    return f"00-{random.getrandbits(128):032x}-{random.getrandbits(64):016x}-00"


class _Actor:
    __slots__ = ("client_id", "tenant_id")

    def __init__(self) -> None:
        self.client_id: str | None = None
        self.tenant_id: int | None = None


def note_actor(scope: Scope, *, client_id: str, tenant_id: int) -> None:
    """Name the authenticated API user in the request's log line."""
    actor = scope.get(_ACTOR)
    if actor is not None:
        actor.client_id = client_id
        actor.tenant_id = tenant_id


def _route_path(scope: Scope) -> str | None:
    """The matched route's template; a raw path is never logged, since a client may have put
    anything in it."""
    template = getattr(scope.get("route"), "path_format", None)
    return template if isinstance(template, str) else None


class RequestLog:
    """Pure ASGI: assigns the request id, answers it as `X-Request-Id`, logs the request, and
    turns an error no handler took into a 500 problem logged with its traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        request_id = None
        for name, value in headers:
            if name == b"x-request-id":
                if _WELL_FORMED_ID.fullmatch(value):
                    request_id = value
                break
        if request_id is None:
            request_id = new_request_id().encode()
            scope["headers"] = [
                *(header for header in headers if header[0] != b"x-request-id"),
                (b"x-request-id", request_id),
            ]
        trace = scope[REQUEST_ID] = request_id.decode()
        actor = scope[_ACTOR] = _Actor()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error = exc
            if status == 0:
                detail = "The server could not complete the request."
                await send_problem(send_with_id, 500, detail, trace=trace)
        except BaseException as exc:  # cancelled: still one line, then on its way
            error = exc
            raise
        finally:
            if status == 0 and scope.get(ABANDONED):
                status = CLIENT_GONE
            level = _level(error, status)
            if log.isEnabledFor(level):
                fields = {
                    "method": scope["method"],
                    "path": _route_path(scope),
                    "status": status,
                    "durationMs": round((time.perf_counter() - started) * 1000, 2),
                    "requestId": trace,
                    "clientId": actor.client_id,
                    "tenantId": actor.tenant_id,
                }
                log.handle(_record(level, fields, error))


# What the log says of a request cancelled because its client had gone (nginx's number).
CLIENT_GONE = 499


def _level(error: BaseException | None, status: int) -> int:
    if isinstance(error, Exception):
        return logging.ERROR
    return logging.WARNING if error is not None or status >= 500 else logging.INFO


def _record(level: int, fields: dict[str, Any], error: BaseException | None) -> logging.LogRecord:
    """Made by hand: Logger.info would walk the stack for a caller nobody reads."""
    exc_info = None
    message = "request"
    if isinstance(error, Exception):
        message = "request failed"
        exc_info = (type(error), error, error.__traceback__)
    elif error is not None:
        message = "request cancelled"
    return log.makeRecord(log.name, level, "", 0, message, (), exc_info, extra={"fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the record's `fields`, and
    the traceback of an error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[
                :-6
            ]
            + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = "".join(traceback.format_exception(record.exc_info[1])).rstrip()
        return orjson.dumps(line, default=str).decode()


def logging_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: JSON lines on stderr for casedesk and uvicorn alike;
    uvicorn's access log is off, the request lines above replace it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "casedesk.http.request_log.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
            # Drivers that print statements with their parameters (a case's text) at DEBUG.
            **{name: {"level": "WARNING"} for name in ("aiosqlite", "sqlalchemy", "psycopg")},
        },
    }
