"""Crash safety: whenever the server dies, a retry never does the work a second time.

The kept answer commits with the work, in one transaction; so a crash after that commit leaves
an answer to replay, and a crash before it leaves nothing done and a claim that a retry takes
over once its lease runs out.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casedesk import clock
from casedesk.cases import service as cases_service
from casedesk.config import Settings
from casedesk.idempotency import middleware, service
from casedesk.idempotency.repository import KeyScope
from casedesk.idempotency.rules import MIN_CLAIM_LEASE
from casedesk.main import create_app
from tests.conftest import ApiUser, run_in_transaction
from tests.idempotency.calls import WRITES, StoppedClock, case_count

KEY = "retry-after-a-crash"


class Crash(Exception):
    """The server process dies here: nothing after this point runs."""


class DiesBeforeAnswering:
    """The app, whose process dies as it starts to send an answer: after the commit. It notes
    the status it was about to send."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.about_to_answer: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def dying(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.about_to_answer.append(message["status"])
                raise Crash
            await send(message)

        await self.app(scope, receive, dying if scope["type"] == "http" else send)


@pytest.fixture
def no_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead process frees no key: the middleware's release never runs."""

    async def never(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(middleware, "_release", never)


def test_a_crash_after_the_commit_is_answered_by_replay_without_a_second_case(
    settings: Settings, admin: ApiUser, no_cleanup: None
) -> None:
    dying = DiesBeforeAnswering(create_app(settings))
    # However the stack reports the dead process to the client, no answer got out.
    with TestClient(dying) as http, contextlib.suppress(Exception):
        http.post(
            "/api/cases",
            json=WRITES["create"].json,
            headers={**admin.headers, "Idempotency-Key": KEY},
        )
    assert dying.about_to_answer[0] == 201
    assert case_count(admin) == 1

    retry = WRITES["create"].send(admin, KEY)

    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert case_count(admin) == 1
    assert admin.get(retry.headers["Location"]).json() == retry.json()


@pytest.fixture
def crash_in_the_work(monkeypatch: pytest.MonkeyPatch, no_cleanup: None) -> None:
    """create_case does its work, then the process dies before the transaction commits."""
    create = cases_service.create_case

    async def dies(session: AsyncSession, **kwargs: Any) -> Any:
        await create(session, **kwargs)
        raise Crash

    monkeypatch.setattr(cases_service, "create_case", dies)


def test_a_crash_before_the_commit_leaves_nothing_and_the_key_taken_over_after_its_lease(
    admin: ApiUser, monkeypatch: pytest.MonkeyPatch, crash_in_the_work: None
) -> None:
    stopped = StoppedClock()
    monkeypatch.setattr(clock, "now", stopped.now)
    assert WRITES["create"].send(admin, KEY).status_code == 500
    monkeypatch.undo()
    monkeypatch.setattr(clock, "now", stopped.now)
    assert case_count(admin) == 0

    while_leased = WRITES["create"].send(admin, KEY)
    stopped.advance(seconds=MIN_CLAIM_LEASE.total_seconds())
    after_lease = WRITES["create"].send(admin, KEY)
    replay = WRITES["create"].send(admin, KEY)

    assert while_leased.status_code == 409
    assert after_lease.status_code == 201
    assert "Idempotent-Replayed" not in after_lease.headers
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == after_lease.content
    assert case_count(admin) == 1


def test_a_longer_request_time_limit_holds_the_key_for_twice_as_long(
    settings: Settings, admin: ApiUser, monkeypatch: pytest.MonkeyPatch, crash_in_the_work: None
) -> None:
    patient = dataclasses.replace(settings, request_timeout_seconds=45)
    stopped = StoppedClock()
    monkeypatch.setattr(clock, "now", stopped.now)
    with TestClient(create_app(patient), raise_server_exceptions=False) as http:
        user = dataclasses.replace(admin, http=http)
        assert WRITES["create"].send(user, KEY).status_code == 500
        monkeypatch.undo()
        monkeypatch.setattr(clock, "now", stopped.now)

        stopped.advance(seconds=89)
        within_90_seconds = WRITES["create"].send(user, KEY)
        stopped.advance(seconds=1)
        after_90_seconds = WRITES["create"].send(user, KEY)

    assert within_90_seconds.status_code == 409
    assert after_90_seconds.status_code == 201
    assert case_count(admin) == 1


def test_a_request_whose_claim_was_taken_over_cannot_keep_its_answer(
    admin: ApiUser, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = StoppedClock()
    monkeypatch.setattr(clock, "now", stopped.now)
    scope = KeyScope(1, admin.client_id, KEY)
    answer = service.KeptAnswer(201, {"content-type": "application/json"}, b"{}")

    async def claim(session: AsyncSession) -> service.Claim | service.KeptAnswer:
        return await service.claim(
            session,
            scope=scope,
            fingerprint="same request",
            lifetime=timedelta(days=1),
            lease=MIN_CLAIM_LEASE,
        )

    slow = run_in_transaction(database_url, claim)
    stopped.advance(seconds=MIN_CLAIM_LEASE.total_seconds())
    retry = run_in_transaction(database_url, claim)
    assert isinstance(slow, service.Claim)
    assert isinstance(retry, service.Claim)

    async def complete_slow(session: AsyncSession) -> None:
        await service.complete(session, claim=slow, answer=answer)

    async def complete_retry(session: AsyncSession) -> None:
        await service.complete(session, claim=retry, answer=answer)

    with pytest.raises(service.KeyTakenOver):
        run_in_transaction(database_url, complete_slow)
    run_in_transaction(database_url, complete_retry)
