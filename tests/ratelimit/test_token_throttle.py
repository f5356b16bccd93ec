"""POST /api/token: failed attempts are throttled per client id and remote address (and per
address); successes never are, and one client's failures never slow another's login."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from casedesk.auth import passwords
from casedesk.config import RateLimits, Settings
from casedesk.main import create_app
from casedesk.ratelimit.shared_file import create_file
from tests.conftest import ApiUser, UserFactory
from tests.http.test_problems import assert_problem

THROTTLE = RateLimits(token_failures=3, token_failure_seconds=3600)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(replace(settings, rate_limits=THROTTLE))


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def login(http: TestClient, client_id: str, secret: str) -> httpx.Response:
    return http.post("/api/token", params={"clientId": client_id, "clientSecret": secret})


def fail(http: TestClient, client_id: str, times: int) -> None:
    for _ in range(times):
        assert_problem(login(http, client_id, "wrong-secret"), 401)


def test_after_three_failures_the_client_id_gets_429_with_retry_after(
    http: TestClient, reader: ApiUser
) -> None:
    fail(http, reader.client_id, 3)
    response = login(http, reader.client_id, "wrong-secret")
    body = assert_problem(response, 429)
    assert body["title"] == "Too Many Requests"
    assert "failed token requests" in body["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 3600


def test_while_throttled_even_the_right_secret_waits(http: TestClient, reader: ApiUser) -> None:
    """The secret is not checked at all: that is what makes guessing slow."""
    fail(http, reader.client_id, 3)
    assert_problem(login(http, reader.client_id, reader.client_secret), 429)


def test_other_client_ids_log_in_while_one_is_throttled(
    http: TestClient, make_user: UserFactory
) -> None:
    locked, other = make_user("CaseRead"), make_user("CaseRead")
    fail(http, locked.client_id, 3)
    assert login(http, other.client_id, other.client_secret).status_code == 200


def test_failures_from_another_address_do_not_lock_a_client_out(
    app: FastAPI, http: TestClient, reader: ApiUser
) -> None:
    fail(http, reader.client_id, 3)
    with TestClient(app, client=("192.0.2.7", 40000)) as elsewhere:
        assert login(elsewhere, reader.client_id, reader.client_secret).status_code == 200


def test_successful_logins_are_never_counted(http: TestClient, reader: ApiUser) -> None:
    statuses = [login(http, reader.client_id, reader.client_secret).status_code for _ in range(8)]
    assert statuses == [200] * 8
    fail(http, reader.client_id, 3)


def test_a_request_missing_its_secret_is_no_failed_attempt(
    http: TestClient, reader: ApiUser
) -> None:
    for _ in range(5):
        assert_problem(http.post("/api/token", params={"clientId": reader.client_id}), 400)
    assert login(http, reader.client_id, reader.client_secret).status_code == 200


def test_one_address_failing_across_many_client_ids_is_capped(http: TestClient) -> None:
    """Per address: ten times what one client id may fail."""
    for attempt in range(30):
        fail(http, f"guess-{attempt}", 1)
    assert_problem(login(http, "guess-30", "wrong-secret"), 429)


def test_token_answers_carry_no_per_user_headers(http: TestClient, reader: ApiUser) -> None:
    response = login(http, reader.client_id, reader.client_secret)
    assert "RateLimit-Limit" not in response.headers


PARALLEL = 40


@pytest.fixture
def slow_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each verification takes about as long as production Argon2 does, so that parallel
    requests overlap as they do under load."""
    verify = passwords.verify_secret

    def slowly(secret_hash: str, secret: str) -> bool:
        time.sleep(0.2)
        return verify(secret_hash, secret)

    monkeypatch.setattr(passwords, "verify_secret", slowly)


@pytest.mark.usefixtures("slow_verification")
def test_parallel_wrong_secrets_get_exactly_the_limit_of_401s(
    http: TestClient, reader: ApiUser
) -> None:
    """A failure is reserved before the secret is checked: requests already in flight count."""

    def wrong(_: int) -> int:
        return login(http, reader.client_id, "wrong-secret").status_code

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = Counter(pool.map(wrong, range(PARALLEL)))
    assert statuses == {401: 3, 429: PARALLEL - 3}


@pytest.mark.usefixtures("slow_verification")
def test_parallel_right_secrets_are_not_counted_as_failures(
    http: TestClient, reader: ApiUser
) -> None:
    """A success gives back what it reserved."""

    def right(_: int) -> int:
        return login(http, reader.client_id, reader.client_secret).status_code

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(right, range(3))) == [200] * 3
    fail(http, reader.client_id, 3)


@pytest.fixture
def full_table(settings: Settings, tmp_path: Path) -> FastAPI:
    """An app whose 16 failure slots one address has filled: 15 client ids and itself."""
    create_file(tmp_path / "tiny", slots=16, failure_slots=16, workers=4)
    limits = replace(THROTTLE, shared_file=str(tmp_path / "tiny"))
    app = create_app(replace(settings, rate_limits=limits))
    with TestClient(app, client=("192.0.2.7", 40000)) as attacker:
        for guess in range(15):
            fail(attacker, f"guess-{guess}", 1)
    return app


def test_with_the_failure_table_full_another_address_still_logs_in(
    full_table: FastAPI, reader: ApiUser
) -> None:
    with TestClient(full_table, client=("198.51.100.1", 40000)) as elsewhere:
        assert login(elsewhere, reader.client_id, reader.client_secret).status_code == 200


def test_with_the_failure_table_full_another_address_gets_its_own_401s(
    full_table: FastAPI, reader: ApiUser
) -> None:
    with TestClient(full_table, client=("198.51.100.1", 40000)) as elsewhere:
        statuses = [login(elsewhere, reader.client_id, "wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
