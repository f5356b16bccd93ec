"""Bodies over Settings.max_body_bytes are refused with a 413 problem, however they are sent;
a request past Settings.request_timeout_seconds is cancelled, rolled back and answered 503,
unless its transaction has begun to commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.util import await_
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casedesk.auth.dependencies import CaseWriter
from casedesk.cases import service
from casedesk.cases.schemas import OmniumCaseCreate
from casedesk.config import Settings
from casedesk.http.guards import COMMITTING, BodySizeLimit, TimeLimit
from casedesk.main import create_app
from casedesk.storage.database import WriteSession
from tests.conftest import ApiUser
from tests.http.test_problems import assert_problem

LIMIT = 1024


@pytest.fixture
def small(settings: Settings, admin: ApiUser) -> Iterator[ApiUser]:
    """The admin, talking to an app that accepts bodies of at most LIMIT bytes."""
    app = create_app(replace(settings, max_body_bytes=LIMIT))
    with TestClient(app, raise_server_exceptions=False) as http:
        yield replace(admin, http=http)


def case_body(size: int) -> bytes:
    """A valid create body of exactly `size` bytes."""
    head, tail = b'{"Subject": "Order arrived damaged", "Description": "', b'"}'
    return head + b"d" * (size - len(head) - len(tail)) + tail


def chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


JSON = {"Content-Type": "application/json"}


def test_a_body_over_the_limit_with_content_length_is_a_413(small: ApiUser) -> None:
    response = small.post("/api/cases", content=case_body(LIMIT + 1), headers=JSON)
    body = assert_problem(response, 413)
    assert "1,024 bytes" in body["detail"]


def test_a_chunked_body_over_the_limit_is_a_413(small: ApiUser) -> None:
    response = small.post("/api/cases", content=chunks(case_body(LIMIT * 3)), headers=JSON)
    assert_problem(response, 413)


def test_the_limit_applies_before_authentication(small: ApiUser) -> None:
    response = small.http.post("/api/cases", content=case_body(LIMIT * 2), headers=JSON)
    assert_problem(response, 413)


def test_a_body_of_exactly_the_limit_is_accepted(small: ApiUser) -> None:
    response = small.post("/api/cases", content=case_body(LIMIT), headers=JSON)
    assert response.status_code == 201, response.text


def test_a_chunked_body_under_the_limit_is_accepted(small: ApiUser) -> None:
    response = small.post("/api/cases", content=chunks(case_body(LIMIT - 10)), headers=JSON)
    assert response.status_code == 201, response.text


def test_a_413_names_the_request_by_the_id_it_is_answered_with(small: ApiUser) -> None:
    ids = [("X-Request-Id", "req-first"), ("X-Request-Id", "req-second")]
    headers = [*ids, *JSON.items()]
    response = small.http.post("/api/cases", content=case_body(LIMIT + 1), headers=headers)
    assert response.headers["x-request-id"] == "req-first"
    assert assert_problem(response, 413)["traceId"] == "req-first"


def test_a_request_without_a_body_passes_the_body_limit_untouched() -> None:
    seen: list[tuple[Receive, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((receive, send))

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": "/api/cases/x", "headers": [(b"host", b"x")]}
    asyncio.run(BodySizeLimit(app, max_bytes=LIMIT)(scope, receive, send))

    assert seen == [(receive, send)]


def test_the_default_limit_accepts_the_largest_description(admin: ApiUser) -> None:
    case = admin.create_case(Description="d" * 100_000)
    assert len(case["Description"]) == 100_000


# The time limit. The slow routes exist only in these tests' app.

SLOW_SECONDS = 5


def stall(_session: Session) -> None:
    """A commit that takes longer than the time limit, as one awaiting PostgreSQL may."""
    await_(asyncio.sleep(0.6))


@pytest.fixture
def hasty(settings: Settings, admin: ApiUser) -> Iterator[ApiUser]:
    """The admin, talking to an app whose requests may take 0.2 s, with three slow routes."""
    app = create_app(replace(settings, request_timeout_seconds=0.2, search_timeout_seconds=0.1))

    @app.get("/test/slow")
    async def slow() -> None:
        await asyncio.sleep(SLOW_SECONDS)

    @app.post("/test/slow-create")
    async def slow_create(actor: CaseWriter, session: WriteSession) -> None:
        data = OmniumCaseCreate.model_validate({"Id": "slow-1", "Subject": "Half written"})
        await service.create_case(session, actor=actor, data=data)
        await session.flush()
        await asyncio.sleep(SLOW_SECONDS)

    @app.post("/test/slow-commit", status_code=201)
    async def slow_commit(actor: CaseWriter, session: WriteSession) -> None:
        data = OmniumCaseCreate.model_validate({"Id": "slow-2", "Subject": "Slow to commit"})
        await service.create_case(session, actor=actor, data=data)
        event.listen(session.sync_session, "before_commit", stall)

    with TestClient(app, raise_server_exceptions=False) as http:
        yield replace(admin, http=http)


def test_a_request_past_the_time_limit_is_a_503_problem(hasty: ApiUser) -> None:
    response = hasty.get("/test/slow", headers={"X-Request-Id": "req-slow"})
    body = assert_problem(response, 503)
    assert body["traceId"] == response.headers["x-request-id"] == "req-slow"
    assert "0.2 seconds" in body["detail"]
    assert "rolled back unless it was already being committed" in body["detail"]
    assert "Idempotency-Key" in body["detail"]
    assert response.headers["connection"] == "close"


def test_a_503_names_the_request_by_the_id_it_is_answered_with(hasty: ApiUser) -> None:
    ids = [("X-Request-Id", "req-first"), ("X-Request-Id", "req-second")]
    response = hasty.http.get("/test/slow", headers=ids)
    assert response.headers["x-request-id"] == "req-first"
    assert assert_problem(response, 503)["traceId"] == "req-first"


def test_a_write_cut_off_by_the_time_limit_is_rolled_back(hasty: ApiUser, admin: ApiUser) -> None:
    assert_problem(hasty.post("/test/slow-create"), 503)

    assert admin.get("/api/cases/slow-1").status_code == 404
    # Neither the transaction nor its lock outlived the request: the same id is free, and
    # the case number the cut-off write took was given back.
    case = admin.create_case(Id="slow-1")
    assert case["CaseNumber"] == "CS-1001"


def test_a_write_whose_commit_has_begun_is_let_finish(hasty: ApiUser, admin: ApiUser) -> None:
    response = hasty.post("/test/slow-commit")

    assert response.status_code == 201, response.text
    assert admin.get("/api/cases/slow-2").status_code == 200


def test_a_body_that_trickles_past_the_time_limit_is_cut_off() -> None:
    async def read_whole_body(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    chunks = 0

    async def trickle() -> Message:
        nonlocal chunks
        chunks += 1
        if chunks > 3:
            await asyncio.sleep(SLOW_SECONDS)
        return {"type": "http.request", "body": b"{", "more_body": True}

    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/cases", "headers": []}
    asyncio.run(TimeLimit(read_whole_body, seconds=0.2)(scope, trickle, record))

    assert sent[0]["status"] == 503
    assert b"did not complete within 0.2 seconds" in sent[1]["body"]


def _gone_after(seconds: float, *, body: bytes = b"{}") -> Callable[[], Awaitable[Message]]:
    """A client that sends its body at once and disconnects `seconds` later."""
    sent_body = False

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(seconds)
        return {"type": "http.disconnect"}

    return receive


def _run_abandoned(app: ASGIApp, scope: Scope, gone_after: float) -> tuple[list[Message], float]:
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    async def run() -> float:
        started = asyncio.get_running_loop().time()
        await TimeLimit(app, seconds=20)(scope, _gone_after(gone_after), record)
        return asyncio.get_running_loop().time() - started

    return sent, asyncio.run(run())


def test_a_request_whose_client_disconnects_is_cancelled_and_not_answered() -> None:
    """The listener comes at the first sweep (tick = 1 s here); the work stops soon after
    the client has gone, long before the 20 s limit or the 30 s the work would take."""
    outcome: list[str] = []

    async def slow_search(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("finished")

    post = {"type": "http", "method": "POST", "path": "/api/cases/search"}
    scope = {**post, "headers": [(b"content-length", b"2")]}
    sent, elapsed = _run_abandoned(slow_search, scope, gone_after=0.6)

    assert outcome == ["cancelled"]
    assert sent == []
    assert 0.6 <= elapsed < 10


def test_a_get_without_body_is_cancelled_too_and_its_empty_body_message_kept() -> None:
    seen: list[Message] = []

    async def slow_get(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(1.5)  # the listener has taken the empty message by now
        seen.append(await receive())
        await asyncio.sleep(30)

    scope = {"type": "http", "method": "GET", "path": "/api/cases/x", "headers": []}
    sent, elapsed = _run_abandoned(slow_get, scope, gone_after=1.0)

    assert seen == [{"type": "http.request", "body": b"{}", "more_body": False}]
    assert sent == []
    assert elapsed < 10


def test_a_committing_request_finishes_even_when_its_client_has_gone() -> None:
    async def committing(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        scope[COMMITTING] = True
        await asyncio.sleep(2.5)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"kept"})

    scope = {"type": "http", "method": "PATCH", "path": "/api/cases", "headers": []}
    sent, _ = _run_abandoned(committing, scope, gone_after=0.1)

    assert [message.get("status") for message in sent] == [200, None]


def test_a_quick_request_leaves_no_listener_behind() -> None:
    async def quick(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.6)  # past the first sweep (tick 0.5 s), so a listener started
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def run() -> set[asyncio.Task[object]]:
        scope = {"type": "http", "method": "GET", "path": "/health", "headers": []}

        async def ignore(message: Message) -> None:
            return None

        await TimeLimit(quick, seconds=2)(scope, _gone_after(60), ignore)
        await asyncio.sleep(0)
        return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}

    assert asyncio.run(run()) == set()
