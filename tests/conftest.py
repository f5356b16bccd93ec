"""Fixtures shared by the whole suite. Every storage test runs once per backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2 as httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import passwords
from casedesk.auth import service as auth_service
from casedesk.config import DEFAULT_SEARCH_TIMEOUT_SECONDS, Settings
from casedesk.main import create_app
from casedesk.storage.database import Database
from casedesk.tenants import service as tenants_service
from tests import databases

# The browser fixtures (served, chromium, browser_page), for any test that asks for them.
pytest_plugins = ["tests.browser.fixtures"]

T = TypeVar("T")
SECRET_KEY = "test-signing-key-that-is-long-enough-for-hs256"


@pytest.fixture(autouse=True)
def fast_secret_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest: the suite creates hundreds of users. Production settings are
    checked in tests/auth/test_passwords.py."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session", params=databases.BACKENDS)
def backend_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    backend: str = request.param
    with databases.fresh_database(backend, tmp_path_factory.mktemp(backend)) as url:
        yield backend, url


@pytest.fixture
def backend(backend_database: tuple[str, str]) -> str:
    return backend_database[0]


@pytest.fixture
def database_url(backend_database: tuple[str, str]) -> str:
    """A migrated database holding only the default tenant."""
    url = backend_database[1]
    databases.empty(url)
    return url


def run_in_transaction(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction of its own, as the CLI does."""

    async def run() -> T:
        db = Database.connect(url, search_timeout_s=DEFAULT_SEARCH_TIMEOUT_SECONDS)
        try:
            async with db.writers() as session, session.begin():
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(run())


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET_KEY)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class ApiUser:
    """An API user and a client that sends its token."""

    client_id: str
    client_secret: str
    roles: list[str]
    http: TestClient
    token: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def create_case(self, **fields: Any) -> dict[str, Any]:
        """Create a case (Subject defaults to the reference's) and return its JSON."""
        response = self.post("/api/cases", json={"Subject": "Order arrived damaged", **fields})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


UserFactory = Callable[..., ApiUser]


@pytest.fixture
def make_user(database_url: str, client: TestClient) -> UserFactory:
    """make_user("CaseRead", markets=["NO"], tenant="other") → an ApiUser with a live token."""

    def make(*roles: str, markets: tuple[str, ...] = (), tenant: str = "default") -> ApiUser:
        async def work(session: AsyncSession) -> auth_service.NewUser:
            if tenant != "default" and not await _tenant_exists(session, tenant):
                await tenants_service.create_tenant(session, name=tenant)
            return await auth_service.create_user(
                session,
                name=f"{'-'.join(roles) or 'nobody'} user",
                roles=list(roles),
                markets=list(markets),
                tenant=tenant,
            )

        new = run_in_transaction(database_url, work)
        response = client.post(
            "/api/token", params={"clientId": new.client_id, "clientSecret": new.client_secret}
        )
        assert response.status_code == 200, response.text
        token = response.text
        return ApiUser(
            new.client_id,
            new.client_secret,
            new.roles,
            client,
            token,
            {"Authorization": f"Bearer {token}"},
        )

    return make


async def _tenant_exists(session: AsyncSession, name: str) -> bool:
    from casedesk.tenants import repository

    return await repository.get_by_name(session, name) is not None


@pytest.fixture
def admin(make_user: UserFactory) -> ApiUser:
    """A CaseAdmin in the default tenant, all markets."""
    return make_user("CaseAdmin")


@pytest.fixture
def reader(make_user: UserFactory) -> ApiUser:
    return make_user("CaseRead")


@pytest.fixture
def owner(make_user: UserFactory) -> ApiUser:
    return make_user("ApiOwner")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the battery's figures (tests/battery/figures.py) when any were recorded."""
    from tests.battery import figures

    if figures.recorded():
        terminalreporter.section(f"battery figures (scale {figures.scale()})")
        for line in figures.lines():
            terminalreporter.write_line(line)
        figures.write()
