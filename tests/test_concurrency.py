"""Concurrent writers against two worker processes: no duplicate numbers, no lost writes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import service as auth_service
from tests.conftest import SECRET_KEY, run_in_transaction
from tests.servers import running_server

WRITERS = 16


@pytest.fixture
def server(database_url: str) -> Iterator[httpx.Client]:
    """`casedesk serve --workers 2` on the test database, and a client holding an admin token."""

    async def work(session: AsyncSession) -> auth_service.NewUser:
        return await auth_service.create_user(session, name="load", roles=["CaseAdmin"], markets=[])

    user = run_in_transaction(database_url, work)
    with running_server(database_url, workers=2, secret_key=SECRET_KEY) as base:
        token = httpx.post(
            f"{base}/api/token",
            params={"clientId": user.client_id, "clientSecret": user.client_secret},
        ).text
        with httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            limits=httpx.Limits(max_connections=WRITERS),
        ) as client:
            yield client


def _in_parallel(calls: int, request: Any) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(request, range(calls)))


def test_parallel_creates_on_two_workers_get_unique_consecutive_numbers(
    server: httpx.Client,
) -> None:
    responses = _in_parallel(
        120, lambda i: server.post("/api/cases", json={"Subject": f"Parallel case {i}"})
    )

    assert [r.status_code for r in responses] == [201] * 120
    numbers = sorted(int(r.json()["CaseNumber"].removeprefix("CS-")) for r in responses)
    assert numbers == list(range(1001, 1121))


def test_parallel_comments_on_one_case_are_all_kept(server: httpx.Client) -> None:
    case_id = server.post("/api/cases", json={"Subject": "Busy case"}).json()["Id"]

    responses = _in_parallel(
        60, lambda i: server.post(f"/api/cases/{case_id}/comments", json={"Detail": f"note {i}"})
    )

    assert [r.status_code for r in responses] == [201] * 60
    final = server.get(f"/api/cases/{case_id}").json()
    assert final["CommentCount"] == 60
    assert sorted(n["Detail"] for n in final["InternalNotes"]) == sorted(
        f"note {i}" for i in range(60)
    )


def test_parallel_status_changes_lose_no_status_log_entry(server: httpx.Client) -> None:
    case_id = server.post("/api/cases", json={"Subject": "Contended case"}).json()["Id"]
    statuses = ["In Progress", "Waiting for Customer", "Resolved", "New"]

    responses = _in_parallel(
        80,
        lambda i: server.post(
            f"/api/cases/{case_id}/changestatus", params={"status": statuses[i % 4]}
        ),
    )

    assert [r.status_code for r in responses] == [200] * 80
    final = server.get(f"/api/cases/{case_id}").json()
    log = final["CaseStatusLog"]
    # Every answer's log must be a prefix of the final one: a lost update would break that.
    for response in responses:
        seen = response.json()["CaseStatusLog"]
        assert log[: len(seen)] == seen
    assert len(log) == int(server.get(f"/api/cases/{case_id}").headers["ETag"].strip('"'))
    assert all(a["Status"] != b["Status"] for a, b in itertools.pairwise(log))
    assert log[-1]["Status"] == final["Status"]
