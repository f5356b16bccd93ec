"""Plain ASGI guards: bodies over the limit are refused with 413 before they are read whole;
a request that runs past its time limit is cancelled and answered 503, and one whose client
has gone is cancelled, unless it has begun to commit."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casedesk.http.asgi import StatusWatch
from casedesk.http.problems import request_trace, send_problem

# Set in a request's scope just before its transaction commits: from then on the time limit
# lets it finish, since a cancellation could no longer undo what it wrote.
COMMITTING = "casedesk.committing"
# Set in a request's scope when it was cancelled because its client had gone (logged as 499).
ABANDONED = "casedesk.abandoned"

_CLOSE = ((b"connection", b"close"),)


def _detail(limit: int) -> str:
    return f"The request body may not exceed {limit:,} bytes."


class BodyTooLarge(HTTPException):
    """Raised while a body without Content-Length is read; an HTTPException so that FastAPI's
    body parsing passes it on instead of calling it a malformed body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit), headers={"Connection": "close"})


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                has_body = True
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    too_large = False
                if too_large:
                    await self._refuse(scope, send)
                    return
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:
            # Neither header: HTTP/1.1 says there is no body (a GET, most often).
            await self.app(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        watched = StatusWatch(send)
        try:
            await self.app(scope, limited_receive, watched)
        except BodyTooLarge:
            # Read outside a route (by a middleware); inside one the problem handler answers.
            if not watched.status:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await send_problem(
            send, 413, _detail(self.max_bytes), trace=request_trace(scope), headers=_CLOSE
        )


def _timeout_detail(seconds: float) -> str:
    return (
        f"The request did not complete within {seconds:g} seconds; its work was rolled back "
        "unless it was already being committed. Retry with an Idempotency-Key to be safe."
    )


class _Flight:
    """One request in flight: its deadline, and the receive its app is given, which tells
    when the body has been read and lets the watch listen for the client's disconnect."""

    __slots__ = ("_kept", "_receive", "abandoned", "body_read", "deadline", "listener", "scope")

    def __init__(self, scope: Scope, receive: Receive, deadline: float) -> None:
        self.scope = scope
        self.deadline = deadline
        self._receive = receive
        # Messages the listener took before the app asked for them.
        self._kept: list[Message] = []
        # A request without a body has nothing for the app to read: it may be listened to
        # at once (its one empty message is kept for the app).
        self.body_read = not any(
            name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"]
        )
        self.listener: asyncio.Task[None] | None = None
        self.abandoned = False

    async def receive(self) -> Message:
        if self._kept:
            return self._kept.pop(0)
        message = await self._receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            self.body_read = True
        return message

    async def disconnect(self) -> None:
        """Return when the client has gone (only once the body has been read)."""
        while True:
            message = await self._receive()
            self._kept.append(message)
            if message["type"] == "http.disconnect":
                return


class _Watch:
    """The requests in flight on one event loop, swept a few times per limit: a deadline costs
    a request a dict entry instead of a timer of its own (asyncio.timeout costs ~4 us).

    A request still running when a sweep comes also gets a listener for its client's
    disconnect (the many that end between sweeps never pay for one): a client that gave up,
    on a timeout of its own say, takes its request's work with it, instead of leaving a
    search to run to its end for nobody."""

    def __init__(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        self.loop = loop
        self.tick = tick
        self.flights: dict[asyncio.Task[Any], _Flight] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.armed = False

    def add(self, task: asyncio.Task[Any], flight: _Flight) -> None:
        self.flights[task] = flight
        if not self.armed:
            self.armed = True
            self.loop.call_later(self.tick, self.sweep)

    def remove(self, task: asyncio.Task[Any]) -> None:
        listener = self.flights.pop(task).listener
        if listener is not None:
            listener.cancel()

    def sweep(self) -> None:
        now = self.loop.time()
        for task, flight in self.flights.items():
            if flight.deadline <= now:
                self.cancel(task, flight)
            elif flight.listener is None and flight.body_read:
                flight.listener = self.loop.create_task(self._listen(task, flight))
        self.armed = bool(self.flights)
        if self.armed:
            self.loop.call_later(self.tick, self.sweep)

    def cancel(self, task: asyncio.Task[Any], flight: _Flight) -> None:
        """Cancel a request, unless its transaction has begun to commit."""
        if task not in self.expired and not flight.scope.get(COMMITTING):
            self.expired.add(task)
            task.cancel()

    async def _listen(self, task: asyncio.Task[Any], flight: _Flight) -> None:
        await flight.disconnect()
        flight.abandoned = True
        self.cancel(task, flight)


class TimeLimit:
    """Cancels a request that runs longer than `seconds` (give or take a quarter of it, at
    most a second), reading its body included, so a slow client or a stuck query cannot hold
    a worker. The cancellation unwinds the request's transaction (rolled back), and the client
    gets a 503 problem if nothing was sent yet. A request whose client disconnects is
    cancelled the same way (found within two ticks; no answer is sent). A request whose
    transaction has begun to commit (scope[COMMITTING]) is never cancelled: it finishes and
    answers as usual."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.tick = min(seconds / 4, 1.0)
        self.watch: _Watch | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)
            return
        watch = self.watch
        loop = asyncio.get_running_loop()
        if watch is None or watch.loop is not loop:
            # One loop per worker process; a new one (a new test client) gets a new watch.
            watch = self.watch = _Watch(loop, self.tick)
        flight = _Flight(scope, receive, loop.time() + self.seconds)
        watch.add(task, flight)
        watched = StatusWatch(send)
        try:
            await self.app(scope, flight.receive, watched)
        except asyncio.CancelledError:
            if task not in watch.expired:
                raise
            watch.expired.discard(task)
            # Ours, unless somebody else cancelled it too (a shutdown, say).
            if task.uncancel() > 0:
                raise
            if flight.abandoned:
                scope[ABANDONED] = True
                return  # nobody to answer: the client has gone
            if watched.status:
                raise TimeoutError(f"request cut off after {self.seconds:g} s") from None
            await send_problem(
                send,
                503,
                _timeout_detail(self.seconds),
                trace=request_trace(scope),
                headers=_CLOSE,
            )
        finally:
            watch.remove(task)
            if task in watch.expired:
                # Cancelled, but the app swallowed the cancellation and returned.
                watch.expired.discard(task)
                task.uncancel()
