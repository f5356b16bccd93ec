"""Per API user limits through the whole app: RateLimit headers on every answer, a 429
problem past the limit, and requests without a valid token neither limited nor costly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import service as auth_service
from casedesk.config import RateLimits, Settings
from casedesk.main import create_app
from tests.conftest import ApiUser, UserFactory, run_in_transaction
from tests.http.test_problems import assert_problem

SMALL = RateLimits(burst=3, refill=1, refill_seconds=3600)


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    """An app whose API users may make 3 requests, then one an hour."""
    app = create_app(replace(settings, rate_limits=SMALL))
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http


def on(http: TestClient, user: ApiUser) -> ApiUser:
    return replace(user, http=http)


def test_a_successful_answer_carries_the_rate_limit_headers(
    limited: TestClient, reader: ApiUser
) -> None:
    response = on(limited, reader).get("/api/cases/settings")
    assert response.status_code == 200, response.text
    assert response.headers["RateLimit-Limit"] == "3"
    assert response.headers["RateLimit-Remaining"] == "2"
    # One request used: the bucket is full again an hour later.
    assert response.headers["RateLimit-Reset"] == "3600"


def test_an_error_answer_carries_them_too(limited: TestClient, reader: ApiUser) -> None:
    response = on(limited, reader).get("/api/cases/no-such-case")
    assert_problem(response, 404)
    assert response.headers["RateLimit-Remaining"] == "2"


def test_remaining_counts_down_with_each_request(limited: TestClient, reader: ApiUser) -> None:
    user = on(limited, reader)
    remaining = [user.get("/api/cases/settings").headers["RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]


def test_past_the_limit_the_answer_is_a_429_problem_with_retry_after(
    limited: TestClient, reader: ApiUser
) -> None:
    user = on(limited, reader)
    for _ in range(3):
        user.get("/api/cases/settings")
    response = user.get("/api/cases/settings")
    body = assert_problem(response, 429)
    assert body["title"] == "Too Many Requests"
    assert "3 requests" in body["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert response.headers["RateLimit-Limit"] == "3"
    assert response.headers["RateLimit-Remaining"] == "0"


def test_a_429_carries_the_callers_request_id(limited: TestClient, reader: ApiUser) -> None:
    user = on(limited, reader)
    for _ in range(3):
        user.get("/api/cases/settings")
    response = user.get("/api/cases/settings", headers={"X-Request-Id": "req-42"})
    assert assert_problem(response, 429)["traceId"] == "req-42"


def test_a_refused_write_changes_nothing(limited: TestClient, admin: ApiUser) -> None:
    user = on(limited, admin)
    case = user.create_case()
    user.get(f"/api/cases/{case['Id']}")
    user.get(f"/api/cases/{case['Id']}")
    refused = user.patch("/api/cases", json={"Id": case["Id"], "Subject": "Changed"})
    assert_problem(refused, 429)
    assert admin.get(f"/api/cases/{case['Id']}").json()["Subject"] == "Order arrived damaged"


def test_each_api_user_has_a_bucket_of_its_own(limited: TestClient, make_user: UserFactory) -> None:
    alice, bob = on(limited, make_user("CaseRead")), on(limited, make_user("CaseRead"))
    for _ in range(3):
        alice.get("/api/cases/settings")
    assert alice.get("/api/cases/settings").status_code == 429
    assert bob.get("/api/cases/settings").headers["RateLimit-Remaining"] == "2"


def test_a_request_without_a_valid_token_is_neither_limited_nor_counted(
    limited: TestClient, reader: ApiUser
) -> None:
    for _ in range(5):
        response = limited.get(
            "/api/cases/settings", headers={"Authorization": f"Bearer {reader.token}x"}
        )
        assert_problem(response, 401)
        assert "RateLimit-Limit" not in response.headers
    for _ in range(5):
        assert_problem(limited.get("/api/cases/settings"), 401)
    assert on(limited, reader).get("/api/cases/settings").headers["RateLimit-Remaining"] == "2"


def test_a_deactivated_users_live_token_is_still_counted(
    limited: TestClient, reader: ApiUser, database_url: str
) -> None:
    """Its answers are 401s, but the token names an API user: no free requests for it."""
    user = on(limited, reader)
    user.get("/api/cases/settings")

    async def deactivate(session: AsyncSession) -> None:
        await auth_service.deactivate_user(session, client_id=reader.client_id)

    run_in_transaction(database_url, deactivate)
    response = user.get("/api/cases/settings")
    assert_problem(response, 401)
    assert response.headers["RateLimit-Remaining"] == "1"


@pytest.mark.parametrize("path", ["/health", "/swagger", "/swagger/v1/swagger.json"])
def test_paths_outside_the_api_are_not_limited(
    limited: TestClient, reader: ApiUser, path: str
) -> None:
    for _ in range(5):
        response = on(limited, reader).get(path)
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response.headers


def test_switched_off_nothing_is_limited_or_announced(settings: Settings, reader: ApiUser) -> None:
    off = replace(settings, rate_limits=replace(SMALL, enabled=False))
    with TestClient(create_app(off)) as http:
        responses = [on(http, reader).get("/api/cases/settings") for _ in range(5)]
        document = http.get("/swagger/v1/swagger.json").json()
    assert [r.status_code for r in responses] == [200] * 5
    assert "RateLimit-Limit" not in responses[-1].headers
    assert "429" not in document["paths"]["/api/cases/{id}"]["get"]["responses"]


def test_the_defaults_are_omniums(client: TestClient, reader: ApiUser) -> None:
    response = reader.get("/api/cases/settings")
    assert response.headers["RateLimit-Limit"] == "12000"
    assert response.headers["RateLimit-Remaining"] == "11999"
    assert response.headers["RateLimit-Reset"] == "1"


def test_the_document_lists_a_429_with_its_headers_on_every_api_operation(
    client: TestClient,
) -> None:
    document = client.get("/swagger/v1/swagger.json").json()
    api = [
        operation
        for path, operations in document["paths"].items()
        if path.startswith("/api/")
        for operation in operations.values()
    ]
    assert len(api) > 10
    for operation in api:
        answer = operation["responses"]["429"]
        assert set(answer["content"]) == {"application/problem+json"}
        assert "Retry-After" in answer["headers"]
    assert "429" not in document["paths"]["/health"]["get"]["responses"]


class CountingReader:
    """The app's fast reader, counting the reads it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.reads = 0

    async def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        self.reads += 1
        result: tuple[Any, ...] | None = await self.inner.one(sql, params)
        return result

    async def close(self) -> None:
        await self.inner.close()


COSTLY = [
    ("GET", "/api/cases/abc123", None),
    ("GET", "/api/cases/settings", None),
    ("POST", "/api/cases/search", {"SearchText": "damaged order", "Take": 100}),
    ("POST", "/api/cases", {"Subject": "Order arrived damaged"}),
    ("PATCH", "/api/cases", {"Id": "abc123", "Subject": "Changed"}),
    ("POST", "/api/cases/addmany", [{"Subject": "Order arrived damaged"}] * 50),
    ("POST", "/api/cases/scroll", {"SearchText": "damaged"}),
    ("POST", "/api/cases/abc123/changestatus?status=Closed", None),
]


def with_database_work(
    client: TestClient, method: str, path: str, body: Any, token: str
) -> tuple[Any, int]:
    """The answer, and how many statements and fast reads it took."""
    app: Any = client.app
    counting = CountingReader(app.state.fast_reader)
    app.state.fast_reader = counting
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        response = client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        app.state.fast_reader = counting.inner
    return response, len(statements) + counting.reads


@pytest.mark.parametrize(("method", "path", "body"), COSTLY)
def test_an_invalid_token_is_refused_before_any_database_work(
    client: TestClient, admin: ApiUser, method: str, path: str, body: Any
) -> None:
    """Else a caller could dodge its limits by sending a bad token to a costly endpoint."""
    response, work = with_database_work(client, method, path, body, admin.token[:-2])
    assert_problem(response, 401)
    assert work == 0


@pytest.mark.parametrize(("method", "path", "body"), COSTLY)
def test_the_same_requests_with_a_valid_token_do_reach_the_database(
    client: TestClient, admin: ApiUser, method: str, path: str, body: Any
) -> None:
    """What makes the test above able to fail."""
    _, work = with_database_work(client, method, path, body, admin.token)
    assert work > 0
