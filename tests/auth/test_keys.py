"""Signing keys kept in the database, and their rotation: tokens issued before a rotation keep
working for the grace period, and only for it. Each app below is one start of the server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import clock
from casedesk.auth import keys
from casedesk.auth import service as auth_service
from casedesk.auth.models import InstanceSecretRow
from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import run_in_transaction

OLD_ENV_KEY = "the-previous-signing-key-kept-in-a-secret-store"
NEW_ENV_KEY = "the-new-signing-key-kept-in-a-secret-store-too"

Start = Callable[..., TestClient]


@pytest.fixture
def credentials(database_url: str) -> dict[str, str]:
    async def work(session: AsyncSession) -> auth_service.NewUser:
        return await auth_service.create_user(
            session, name="Reporting", roles=["CaseRead"], markets=[]
        )

    user = run_in_transaction(database_url, work)
    return {"clientId": user.client_id, "clientSecret": user.client_secret}


def token_from(client: TestClient, credentials: dict[str, str]) -> str:
    response = client.post("/api/token", params=credentials)
    assert response.status_code == 200, response.text
    return response.text


def search_status(client: TestClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return client.post("/api/cases/search", json={}, headers=headers).status_code


def rotate(database_url: str, grace_seconds: int) -> None:
    async def work(session: AsyncSession) -> None:
        await keys.rotate(session, grace_seconds=grace_seconds)

    run_in_transaction(database_url, work)


def current_key(client: TestClient) -> str:
    key: str = client.app.state.signing_keys.current  # type: ignore[attr-defined]
    return key


def test_after_a_rotation_old_tokens_still_work_and_new_ones_use_the_new_key(
    database_url: str, credentials: dict[str, str]
) -> None:
    with TestClient(create_app(Settings(database_url=database_url))) as before:
        old_token = token_from(before, credentials)
        old_key = current_key(before)

    rotate(database_url, grace_seconds=3600)

    with TestClient(create_app(Settings(database_url=database_url))) as after:
        assert current_key(after) != old_key
        assert search_status(after, old_token) == 200
        new_token = token_from(after, credentials)
        assert search_status(after, new_token) == 200
    jwt.decode(new_token, current_key(after), algorithms=["HS256"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(new_token, old_key, algorithms=["HS256"])


def test_without_a_grace_period_old_tokens_stop_at_the_next_start(
    database_url: str, credentials: dict[str, str]
) -> None:
    with TestClient(create_app(Settings(database_url=database_url))) as before:
        old_token = token_from(before, credentials)

    rotate(database_url, grace_seconds=0)

    with TestClient(create_app(Settings(database_url=database_url))) as after:
        assert search_status(after, old_token) == 401
        assert search_status(after, token_from(after, credentials)) == 200


def test_a_key_whose_grace_has_ended_is_not_loaded(
    database_url: str, credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(Settings(database_url=database_url))) as before:
        old_token = token_from(before, credentials)
    rotate(database_url, grace_seconds=60)
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)

    with TestClient(create_app(Settings(database_url=database_url))) as after:
        assert after.app.state.signing_keys.retiring == ()  # type: ignore[attr-defined]
        assert search_status(after, old_token) == 401


def test_a_rotation_deletes_the_keys_whose_grace_has_ended(database_url: str) -> None:
    async def stored(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(InstanceSecretRow)) or 0)

    async def first_start(session: AsyncSession) -> None:
        await keys.load(session, configured=None)

    run_in_transaction(database_url, first_start)
    rotate(database_url, grace_seconds=3600)
    rotate(database_url, grace_seconds=3600)
    assert run_in_transaction(database_url, stored) == 3
    now = clock.now()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: now + timedelta(seconds=3601))
        rotate(database_url, grace_seconds=0)
    assert run_in_transaction(database_url, stored) == 1


def test_the_previous_env_key_verifies_the_tokens_it_signed(
    database_url: str, credentials: dict[str, str]
) -> None:
    old = Settings(database_url=database_url, secret_key=OLD_ENV_KEY)
    new = Settings(
        database_url=database_url, secret_key=NEW_ENV_KEY, previous_secret_key=OLD_ENV_KEY
    )
    with TestClient(create_app(old)) as before:
        old_token = token_from(before, credentials)

    with TestClient(create_app(new)) as after:
        assert search_status(after, old_token) == 200
        new_token = token_from(after, credentials)
    jwt.decode(new_token, NEW_ENV_KEY, algorithms=["HS256"])

    without_previous = Settings(database_url=database_url, secret_key=NEW_ENV_KEY)
    with TestClient(create_app(without_previous)) as later:
        assert search_status(later, old_token) == 401
        assert search_status(later, new_token) == 200


def test_an_env_key_leaves_the_stored_keys_unused(
    database_url: str, credentials: dict[str, str]
) -> None:
    with TestClient(create_app(Settings(database_url=database_url))) as stored:
        stored_token = token_from(stored, credentials)
    with TestClient(create_app(Settings(database_url=database_url, secret_key=NEW_ENV_KEY))) as env:
        assert search_status(env, stored_token) == 401
