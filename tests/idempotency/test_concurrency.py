"""A duplicate sent while the first request is still running is a 409, and does nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.cases import service as cases_service
from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import ApiUser
from tests.idempotency.calls import PROBLEM_JSON, WRITES, case_count

KEY = "held-request"
# A guard against a hang, not a measurement: the held request is released long before.
GUARD_SECONDS = 60


class Gate:
    """Holds create_case until opened, and tells when a request has reached it."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()


async def first_duplicate_and_retry(
    settings: Settings, admin: ApiUser, gate: Gate
) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
    app = create_app(settings)
    headers = {**admin.headers, "Idempotency-Key": KEY}
    body = WRITES["create"].json
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://casedesk"
        ) as http,
    ):
        first = asyncio.create_task(http.post("/api/cases", json=body, headers=headers))
        await asyncio.wait_for(gate.reached.wait(), GUARD_SECONDS)
        duplicate = await asyncio.wait_for(
            http.post("/api/cases", json=body, headers=headers), GUARD_SECONDS
        )
        gate.opened.set()
        answered = await asyncio.wait_for(first, GUARD_SECONDS)
        retry = await http.post("/api/cases", json=body, headers=headers)
    return answered, duplicate, retry


def test_a_duplicate_of_a_request_in_flight_is_a_409(
    settings: Settings, admin: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = cases_service.create_case

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        gate = Gate()

        async def held(session: AsyncSession, **kwargs: Any) -> Any:
            gate.reached.set()
            await gate.opened.wait()
            return await create(session, **kwargs)

        monkeypatch.setattr(cases_service, "create_case", held)
        return await first_duplicate_and_retry(settings, admin, gate)

    first, duplicate, retry = asyncio.run(scenario())

    assert duplicate.status_code == 409
    assert duplicate.headers["Content-Type"] == PROBLEM_JSON
    assert "still in progress" in duplicate.json()["detail"]
    assert first.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.content == first.content
    assert case_count(admin) == 1
