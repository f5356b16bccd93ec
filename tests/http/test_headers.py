"""Security headers on every answer; CORS only for the origins configured."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from casedesk.config import Settings
from casedesk.http.headers import API_CSP
from casedesk.main import create_app
from tests.conftest import ApiUser

ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
ORIGIN = "https://shop.example.com"


def assert_always(response: httpx.Response) -> None:
    assert {name: response.headers.get(name) for name in ALWAYS} == ALWAYS
    assert "strict-transport-security" not in response.headers


@pytest.fixture
def boom_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)

    @app.get("/api/test/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/cases/abc123", 401),
        ("GET", "/api/nothing-here", 404),
        ("DELETE", "/api/token", 405),
        ("POST", "/api/token", 400),
        ("GET", "/api/test/boom", 500),
    ],
)
def test_api_answers_and_errors_carry_the_api_headers(
    boom_client: TestClient, method: str, path: str, status: int
) -> None:
    response = boom_client.request(method, path)
    assert response.status_code == status
    assert_always(response)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == API_CSP


def test_a_case_read_is_never_cached(admin: ApiUser) -> None:
    case = admin.create_case()
    response = admin.get(f"/api/cases/{case['Id']}")
    assert response.status_code == 200
    assert_always(response)
    assert response.headers["cache-control"] == "no-store"


def test_a_body_refused_by_the_size_limit_carries_the_headers(settings: Settings) -> None:
    with TestClient(create_app(replace(settings, max_body_bytes=10))) as http:
        response = http.post("/api/cases", content=b"x" * 100)
    assert response.status_code == 413
    assert_always(response)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "path", ["/health", "/swagger/v1/swagger.json", "/swagger/assets/swagger-ui.css", "/nowhere"]
)
def test_other_answers_carry_the_headers_and_the_api_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert_always(response)
    assert response.headers["content-security-policy"] == API_CSP


def test_the_swagger_page_may_load_from_this_server_and_nothing_else(client: TestClient) -> None:
    response = client.get("/swagger")
    assert response.status_code == 200
    assert_always(response)
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }


def test_hsts_is_sent_only_when_configured(settings: Settings) -> None:
    value = "max-age=31536000; includeSubDomains"
    with TestClient(create_app(replace(settings, hsts=value))) as http:
        for path in ("/health", "/api/cases/abc123", "/swagger"):
            assert http.get(path).headers["strict-transport-security"] == value


# CORS


def test_without_configured_origins_no_cors_header_is_sent(admin: ApiUser) -> None:
    case = admin.create_case()
    response = admin.get(f"/api/cases/{case['Id']}", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_without_configured_origins_a_preflight_is_not_granted(client: TestClient) -> None:
    response = client.options(
        "/api/cases",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code >= 400
    assert not [name for name in response.headers if name.startswith("access-control-")]


@pytest.fixture
def cors(settings: Settings, admin: ApiUser) -> Iterator[ApiUser]:
    """The admin, talking to an app that allows exactly ORIGIN."""
    app = create_app(replace(settings, cors_origins=(ORIGIN, "http://localhost:3000")))
    with TestClient(app, raise_server_exceptions=False) as http:
        yield replace(admin, http=http)


def test_a_preflight_from_a_configured_origin_is_granted(cors: ApiUser) -> None:
    response = cors.http.options(
        "/api/cases",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert "if-match" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers
    assert_always(response)


def test_a_preflight_from_another_origin_is_refused(cors: ApiUser) -> None:
    response = cors.http.options(
        "/api/cases",
        headers={
            "Origin": "https://shop.example.com.evil.test",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_configured_origin_may_read_the_answer_and_its_headers(cors: ApiUser) -> None:
    response = cors.post(
        "/api/cases", json={"Subject": "Order arrived damaged"}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {
        name.strip().lower()
        for name in response.headers["access-control-expose-headers"].split(",")
    }
    assert exposed >= {"etag", "location", "x-request-id", "retry-after", "ratelimit-limit"}


def test_another_origin_gets_no_cors_headers(cors: ApiUser) -> None:
    response = cors.get("/api/cases/abc123", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in response.headers
