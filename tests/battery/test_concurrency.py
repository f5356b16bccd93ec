"""Concurrency battery against `casedesk serve --workers 2`: a race on one If-Match, a storm of
status changes, and creates in several tenants at once.

Requests are spread over several API users with the same rights, each sending at most
PER_USER at a time, under Omnium's limit of 20 concurrent requests per user. A 429 (with
Retry-After) counts as a refusal; nothing else but the expected answers is accepted.

Sizes at scale 1 are a quarter of the issue's (50 PATCHes, 1,000 status changes, 2,000
creates); from scale 4 on they are the full numbers.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import service as auth_service
from casedesk.tenants import service as tenants_service
from tests.battery import figures
from tests.conftest import SECRET_KEY, run_in_transaction
from tests.servers import running_server

PER_USER = 16
USERS_PER_TENANT = 4
TENANTS = ("default", "acme", "globex", "initech")
STATUSES = ("In Progress", "Waiting for Customer", "Resolved", "New")


def sized(full: int) -> int:
    """The issue's number at scale 4 and above, a quarter of it at scale 1."""
    return full * min(figures.scale(), 4) // 4


@dataclass(frozen=True)
class Server:
    base: str
    # tenant → the Authorization headers of its CaseAdmin users
    users: dict[str, list[dict[str, str]]]


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    async def work(session: AsyncSession) -> dict[str, list[auth_service.NewUser]]:
        users: dict[str, list[auth_service.NewUser]] = {}
        for tenant in TENANTS:
            if tenant != "default":
                await tenants_service.create_tenant(session, name=tenant)
            users[tenant] = [
                await auth_service.create_user(
                    session, name=f"load {n}", roles=["CaseAdmin"], markets=[], tenant=tenant
                )
                for n in range(USERS_PER_TENANT)
            ]
        return users

    created = run_in_transaction(database_url, work)
    with running_server(database_url, workers=2, secret_key=SECRET_KEY) as base:
        yield Server(base, asyncio.run(_tokens(base, created)))


async def _tokens(
    base: str, created: dict[str, list[auth_service.NewUser]]
) -> dict[str, list[dict[str, str]]]:
    """Every user's Authorization header, asked for all at once (Argon2 is slow on purpose)."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def header(user: auth_service.NewUser) -> dict[str, str]:
            params = {"clientId": user.client_id, "clientSecret": user.client_secret}
            response = await client.post("/api/token", params=params)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.text}"}

        return {
            tenant: list(await asyncio.gather(*map(header, users)))
            for tenant, users in created.items()
        }


@dataclass(frozen=True)
class Request:
    tenant: str
    user: int
    method: str
    url: str
    params: dict[str, str] | None = None
    json: Any = None
    headers: dict[str, str] | None = None


async def _send_all(server: Server, requests: list[Request]) -> list[httpx.Response]:
    """Every request at once, each user's through its own client of PER_USER connections."""
    clients = {
        (tenant, n): httpx.AsyncClient(
            base_url=server.base,
            headers=headers,
            timeout=120,
            limits=httpx.Limits(max_connections=PER_USER, max_keepalive_connections=PER_USER),
        )
        for tenant, users in server.users.items()
        for n, headers in enumerate(users)
    }
    try:
        return await asyncio.gather(
            *(
                clients[(r.tenant, r.user)].request(
                    r.method, r.url, params=r.params, json=r.json, headers=r.headers
                )
                for r in requests
            )
        )
    finally:
        for client in clients.values():
            await client.aclose()


def send_all(server: Server, requests: list[Request]) -> list[httpx.Response]:
    return asyncio.run(_send_all(server, requests))


def rate_limited(response: httpx.Response) -> bool:
    return response.status_code == 429 and "retry-after" in response.headers


def call(server: Server, method: str, url: str, tenant: str = "default", **kw: Any) -> Any:
    response = httpx.request(
        method, server.base + url, headers=server.users[tenant][0], timeout=60, **kw
    )
    assert response.status_code < 300, response.text
    return response


def test_of_50_patches_with_one_if_match_exactly_one_applies(server: Server, backend: str) -> None:
    created = call(server, "POST", "/api/cases", json={"Subject": "Raced case"})
    case_id, tag = created.json()["Id"], created.headers["ETag"]
    requests = [
        Request(
            "default",
            i % USERS_PER_TENANT,
            "PATCH",
            "/api/cases",
            json={"Id": case_id, "Subject": f"Winner {i}"},
            headers={"If-Match": tag},
        )
        for i in range(50)
    ]

    responses = send_all(server, requests)

    statuses = Counter(r.status_code for r in responses)
    figures.record(
        "concurrency: one If-Match",
        backend,
        patches=len(requests),
        applied=statuses[200],
        refused_412=statuses[412],
        refused_429=statuses[429],
    )
    assert all(r.status_code in (200, 412) or rate_limited(r) for r in responses), statuses
    assert statuses[200] == 1
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    final = call(server, "GET", f"/api/cases/{case_id}")
    assert final.json()["Subject"] == f"Winner {winner}"
    assert int(final.headers["ETag"].strip('"')) == int(tag.strip('"')) + 1


def test_status_changes_in_a_storm_each_leave_exactly_one_log_entry(
    server: Server, backend: str
) -> None:
    cases = 20
    ids = [
        call(server, "POST", "/api/cases", json={"Subject": f"Storm {n}"}).json()
        for n in range(cases)
    ]
    first_tags = {
        case["Id"]: _version_of(call(server, "GET", f"/api/cases/{case['Id']}")) for case in ids
    }
    total = sized(1_000)
    requests = [
        Request(
            "default",
            i % USERS_PER_TENANT,
            "POST",
            f"/api/cases/{ids[i % cases]['Id']}/changestatus",
            params={"status": STATUSES[(i // cases + i) % len(STATUSES)]},
        )
        for i in range(total)
    ]

    responses = send_all(server, requests)

    assert all(r.status_code == 200 or rate_limited(r) for r in responses), Counter(
        r.status_code for r in responses
    )
    by_case: dict[str, list[tuple[Request, httpx.Response]]] = defaultdict(list)
    for request, response in zip(requests, responses, strict=True):
        if response.status_code == 200:
            by_case[response.json()["Id"]].append((request, response))
    effective_total = 0
    wrong: list[str] = []
    for case_id, first in first_tags.items():
        answered = by_case[case_id]
        # A change answers a version of its own; setting the current status again answers
        # a version that exists already (the creation's, or another change's).
        effective = {_version_of(r) for _, r in answered} - {first}
        effective_total += len(effective)
        final = call(server, "GET", f"/api/cases/{case_id}")
        log = final.json()["CaseStatusLog"]
        if len(log) != 1 + len(effective) or _version_of(final) != first + len(effective):
            wrong.append(f"{case_id}: log {len(log)}, {len(effective)} changes applied")
        if any(a["Status"] == b["Status"] for a, b in itertools.pairwise(log)):
            wrong.append(f"{case_id}: a change to the current status was logged")
        if (
            log[0]["DurationSincePreviousMs"] is not None
            or log[-1]["Status"] != final.json()["Status"]
        ):
            wrong.append(f"{case_id}: log does not start at creation or end at the status")
        for request, response in answered:
            seen = response.json()["CaseStatusLog"]
            if log[: len(seen)] != seen:
                wrong.append(f"{case_id}: an answer's log is not a prefix of the final log")
            if (
                _version_of(response) in effective
                and seen[-1]["Status"] != (request.params or {})["status"]
            ):
                wrong.append(f"{case_id}: a change's last log entry is not its status")
    figures.record(
        "concurrency: status changes",
        backend,
        requests=total,
        cases=cases,
        applied=effective_total,
        no_ops=sum(len(v) for v in by_case.values()) - effective_total,
        refused_429=sum(rate_limited(r) for r in responses),
        log_mismatches=len(wrong),
    )
    assert wrong == [], "\n".join(wrong[:20])


def _version_of(response: httpx.Response) -> int:
    return int(response.headers["ETag"].strip('"'))


def test_creates_in_four_tenants_at_once_get_unique_consecutive_numbers(
    server: Server, backend: str
) -> None:
    total = sized(2_000)
    requests = [
        Request(
            TENANTS[i % len(TENANTS)],
            (i // len(TENANTS)) % USERS_PER_TENANT,
            "POST",
            "/api/cases",
            json={"Subject": f"Parallel case {i}"},
        )
        for i in range(total)
    ]

    responses = send_all(server, requests)

    assert all(r.status_code == 201 or rate_limited(r) for r in responses), Counter(
        r.status_code for r in responses
    )
    numbers: dict[str, list[int]] = defaultdict(list)
    for request, response in zip(requests, responses, strict=True):
        if response.status_code == 201:
            numbers[request.tenant].append(int(response.json()["CaseNumber"].removeprefix("CS-")))
    duplicates = sum(len(n) - len(set(n)) for n in numbers.values())
    gaps = sum(len(set(range(1001, 1001 + len(n))) - set(n)) for n in numbers.values())
    figures.record(
        "concurrency: creates",
        backend,
        creates=total,
        tenants=len(TENANTS),
        created=sum(len(n) for n in numbers.values()),
        refused_429=sum(rate_limited(r) for r in responses),
        duplicate_numbers=duplicates,
        missing_numbers=gaps,
    )
    for tenant in TENANTS:
        assert sorted(numbers[tenant]) == list(range(1001, 1001 + len(numbers[tenant]))), tenant
        hits = call(server, "POST", "/api/cases/search", tenant=tenant, json={"Take": 1})
        assert hits.json()["TotalHits"] == len(numbers[tenant])
