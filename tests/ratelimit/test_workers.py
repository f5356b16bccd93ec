"""A real `casedesk serve --workers 2`: the limits hold for the server, not for each worker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import service as auth_service
from tests.conftest import SECRET_KEY, run_in_transaction
from tests.servers import running_server

BURST = 30
REQUESTS = 120


@pytest.fixture
def user(database_url: str) -> auth_service.NewUser:
    async def work(session: AsyncSession) -> auth_service.NewUser:
        return await auth_service.create_user(session, name="load", roles=["CaseRead"], markets=[])

    return run_in_transaction(database_url, work)


@pytest.fixture
def server(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Two workers; API users get BURST requests, then one an hour; 3 failed logins."""
    for name, value in {
        "CASEDESK_RATE_LIMIT_BURST": str(BURST),
        "CASEDESK_RATE_LIMIT_REFILL": "1",
        "CASEDESK_RATE_LIMIT_REFILL_SECONDS": "3600",
        "CASEDESK_RATE_LIMIT_CONCURRENT": "1000",
        "CASEDESK_TOKEN_FAILURES": "3",
        "CASEDESK_TOKEN_FAILURE_SECONDS": "3600",
    }.items():
        monkeypatch.setenv(name, value)
    with running_server(database_url, workers=2, secret_key=SECRET_KEY) as base:
        yield base


def in_parallel(calls: int, request: object) -> Counter[int]:
    """Each call on a connection of its own, so that both workers take some."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        return Counter(pool.map(request, range(calls)))  # type: ignore[arg-type]


def test_both_workers_together_admit_no_more_than_the_burst(
    server: str, user: auth_service.NewUser
) -> None:
    token = httpx.post(
        f"{server}/api/token",
        params={"clientId": user.client_id, "clientSecret": user.client_secret},
    ).text
    headers = {"Authorization": f"Bearer {token}"}

    def get(_: int) -> int:
        return httpx.get(f"{server}/api/cases/settings", headers=headers, timeout=30).status_code

    assert in_parallel(REQUESTS, get) == {200: BURST, 429: REQUESTS - BURST}


def wrong_secret(server: str, user: auth_service.NewUser) -> Callable[[int], int]:
    def login(_: int) -> int:
        params = {"clientId": user.client_id, "clientSecret": "wrong-secret"}
        return httpx.post(f"{server}/api/token", params=params, timeout=30).status_code

    return login


def test_failed_logins_are_counted_across_workers(server: str, user: auth_service.NewUser) -> None:
    login = wrong_secret(server, user)
    statuses = [login(attempt) for attempt in range(8)]
    assert statuses == [401] * 3 + [429] * 5


def test_parallel_failed_logins_get_exactly_the_limit_of_401s_across_workers(
    server: str, user: auth_service.NewUser
) -> None:
    """Real Argon2 in both workers: each failure is reserved before its secret is checked."""
    assert in_parallel(40, wrong_secret(server, user)) == {401: 3, 429: 37}
