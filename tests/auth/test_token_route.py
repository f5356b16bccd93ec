"""POST /api/token, and how every request's Bearer token is checked."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import passwords
from casedesk.auth import service as auth_service
from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import SECRET_KEY, ApiUser, UserFactory, run_in_transaction

TEN_DAYS = 864_000
PROBLEM_JSON = "application/problem+json"
# Any endpoint that needs nothing but a valid CaseRead user.
PROTECTED = "/api/cases/settings"


def token_for(client: TestClient, user: ApiUser, **params: str) -> httpx.Response:
    return client.post(
        "/api/token",
        params={"clientId": user.client_id, "clientSecret": user.client_secret, **params},
    )


def deactivate(database_url: str, client_id: str) -> None:
    async def work(session: AsyncSession) -> None:
        await auth_service.deactivate_user(session, client_id=client_id)

    run_in_transaction(database_url, work)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET_KEY, algorithms=["HS256"])


def signed(claims: dict[str, Any], key: str = SECRET_KEY) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert (body["status"], body["title"]) == (401, "Unauthorized")
    assert body["detail"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- getting a token ---------------------------------------------------------------------


def test_the_token_comes_back_as_a_plain_string(client: TestClient, reader: ApiUser) -> None:
    response = token_for(client, reader)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.count(".") == 2
    assert claims_of(response.text)["sub"] == reader.client_id


def test_the_plain_token_is_usable_as_a_bearer_token(client: TestClient, reader: ApiUser) -> None:
    token = token_for(client, reader).text
    response = client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_return_as_json_gives_access_token_type_and_lifetime(
    client: TestClient, reader: ApiUser
) -> None:
    response = token_for(client, reader, returnAsJson="true")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"accessToken", "tokenType", "expiresIn"}
    assert (body["tokenType"], body["expiresIn"]) == ("Bearer", TEN_DAYS)


def test_the_json_access_token_is_usable_as_a_bearer_token(
    client: TestClient, reader: ApiUser
) -> None:
    token = token_for(client, reader, returnAsJson="true").json()["accessToken"]
    response = client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_return_as_json_false_gives_the_plain_string(client: TestClient, reader: ApiUser) -> None:
    response = token_for(client, reader, returnAsJson="false")
    assert response.headers["content-type"].startswith("text/plain")


def test_a_token_expires_ten_days_after_it_is_issued(client: TestClient, reader: ApiUser) -> None:
    claims = claims_of(token_for(client, reader).text)
    assert claims["exp"] - claims["iat"] == TEN_DAYS


def test_the_configured_lifetime_sets_exp_and_expires_in(
    database_url: str, reader: ApiUser
) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY, token_lifetime_seconds=60)
    with TestClient(create_app(settings)) as short_lived:
        response = token_for(short_lived, reader, returnAsJson="true")
    body = response.json()
    claims = claims_of(body["accessToken"])
    assert body["expiresIn"] == 60
    assert claims["exp"] - claims["iat"] == 60


def test_a_wrong_secret_is_401(client: TestClient, reader: ApiUser) -> None:
    response = client.post(
        "/api/token", params={"clientId": reader.client_id, "clientSecret": "wrong-secret"}
    )
    assert_unauthorized(response)


def test_an_unknown_client_gets_the_same_answer_as_a_wrong_secret(
    client: TestClient, reader: ApiUser
) -> None:
    wrong_secret = client.post(
        "/api/token", params={"clientId": reader.client_id, "clientSecret": "wrong-secret"}
    )
    unknown = client.post(
        "/api/token", params={"clientId": "no-such-client", "clientSecret": "wrong-secret"}
    )
    assert_unauthorized(unknown)
    assert unknown.json()["detail"] == wrong_secret.json()["detail"]


def test_a_deactivated_user_gets_no_token(
    client: TestClient, database_url: str, reader: ApiUser
) -> None:
    deactivate(database_url, reader.client_id)
    assert_unauthorized(token_for(client, reader))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"clientSecret": "s3cret"}, "clientId"),
        ({"clientId": "client-1"}, "clientSecret"),
        ({"clientId": "", "clientSecret": "s3cret"}, "clientId"),
    ],
)
def test_a_missing_client_id_or_secret_is_400_naming_it(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = client.post("/api/token", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert field in response.json()["errors"]


def test_no_parameters_at_all_is_400_naming_both(client: TestClient) -> None:
    response = client.post("/api/token")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"clientId", "clientSecret"}


# --- presenting a token ------------------------------------------------------------------


def test_no_authorization_header_is_401(client: TestClient) -> None:
    assert_unauthorized(client.get(PROTECTED))


def test_an_expired_token_is_401(client: TestClient, reader: ApiUser) -> None:
    live = claims_of(reader.token)
    issued = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    expired = signed({**live, "iat": issued, "exp": issued + TEN_DAYS})
    response = client.get(PROTECTED, headers={"Authorization": f"Bearer {expired}"})
    assert_unauthorized(response)
    assert "expired" in response.json()["detail"]


def _forged(kind: str, token: str) -> str:
    claims = claims_of(token)
    header, payload, signature = token.split(".")
    if kind == "other-key":
        return signed(claims, key="another-key-that-is-long-enough-for-hs256-too")
    if kind == "alg-none":
        return jwt.encode(claims, None, algorithm="none")
    if kind in ("hs512", "rs256"):
        alg = "HS512" if kind == "hs512" else "RS256"
        return f"{_b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{payload}.{signature}"
    if kind == "payload-edited":
        edited = _b64(json.dumps({**claims, "tid": claims["tid"] + 1}).encode())
        return f"{header}.{edited}.{signature}"
    if kind == "signature-cut":
        return f"{header}.{payload}."
    assert kind == "garbage"
    return "this-is-not-a-jwt"


@pytest.mark.parametrize(
    "kind",
    ["other-key", "alg-none", "hs512", "rs256", "payload-edited", "signature-cut", "garbage"],
)
def test_a_forged_or_malformed_token_is_401(client: TestClient, reader: ApiUser, kind: str) -> None:
    forged = _forged(kind, reader.token)
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {forged}"}))


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("{token}", id="no-scheme"),
        pytest.param("Basic {token}", id="basic-scheme"),
        pytest.param("Bearer", id="scheme-only"),
        pytest.param("Bearer    ", id="scheme-and-spaces"),
        pytest.param("", id="empty"),
    ],
)
def test_an_authorization_header_that_is_not_bearer_token_is_401(
    client: TestClient, reader: ApiUser, header: str
) -> None:
    value = header.format(token=reader.token)
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": value}))


def test_the_bearer_scheme_is_matched_case_insensitively(
    client: TestClient, reader: ApiUser
) -> None:
    response = client.get(PROTECTED, headers={"Authorization": f"bearer {reader.token}"})
    assert response.status_code == 200


def test_a_well_signed_token_for_an_unknown_client_is_401(
    client: TestClient, reader: ApiUser
) -> None:
    token = signed({**claims_of(reader.token), "sub": "no-such-client"})
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


def test_a_well_signed_token_naming_another_tenant_is_401(
    client: TestClient, reader: ApiUser
) -> None:
    token = signed({**claims_of(reader.token), "tid": 2})
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))


def test_a_deactivated_user_is_refused_at_once_with_a_live_token(
    database_url: str, reader: ApiUser
) -> None:
    assert reader.get(PROTECTED).status_code == 200
    deactivate(database_url, reader.client_id)
    assert_unauthorized(reader.get(PROTECTED))


def test_deactivating_one_user_leaves_another_working(
    database_url: str, reader: ApiUser, admin: ApiUser
) -> None:
    deactivate(database_url, reader.client_id)
    assert admin.get(PROTECTED).status_code == 200


def test_a_valid_user_without_a_case_role_is_403(make_user: UserFactory) -> None:
    markets_only = make_user("AllMarkets")
    response = markets_only.get(PROTECTED)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "CaseRead" in response.json()["detail"]


# Only a safety net against a test that would hang when the code under test is wrong.
HANG = 30


def test_with_every_verification_slot_taken_a_token_request_gets_503_with_retry_after(
    settings: Settings, reader: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argon2 costs 64 MiB and a core: past the cap, a request waits briefly, then is told to
    come back rather than queue another thread."""
    entered, release = threading.Event(), threading.Event()
    verify = passwords.verify_secret

    def held(secret_hash: str, secret: str) -> bool:
        entered.set()
        release.wait(HANG)
        return verify(secret_hash, secret)

    monkeypatch.setattr(passwords, "verify_secret", held)
    one_at_a_time = create_app(replace(settings, secret_verifications=1))
    with TestClient(one_at_a_time) as http, ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(token_for, http, reader)
        assert entered.wait(HANG)
        busy = token_for(http, reader)
        release.set()
        assert first.result().status_code == 200
    assert busy.status_code == 503, busy.text
    assert busy.headers["content-type"] == PROBLEM_JSON
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["title"] == "Service Unavailable"
