"""Keys live 24 hours (configurable); expired keys start afresh and are purged by later claims."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from casedesk import clock
from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import ApiUser, UserFactory
from tests.idempotency.calls import WRITES, StoppedClock, case_count, stored_keys

KEY = "nightly-import-2026-12-01"
DAY = 24 * 3600


@pytest.fixture
def stopped_clock(monkeypatch: pytest.MonkeyPatch, admin: ApiUser) -> StoppedClock:
    stopped = StoppedClock()
    monkeypatch.setattr(clock, "now", stopped.now)
    return stopped


def test_a_key_is_remembered_for_24_hours(admin: ApiUser, stopped_clock: StoppedClock) -> None:
    WRITES["create"].send(admin, KEY)
    stopped_clock.advance(seconds=DAY - 1)

    retry = WRITES["create"].send(admin, KEY)

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert case_count(admin) == 1


def test_after_24_hours_the_key_starts_afresh(admin: ApiUser, stopped_clock: StoppedClock) -> None:
    WRITES["create"].send(admin, KEY)
    stopped_clock.advance(seconds=DAY)

    again = WRITES["create"].send(admin, KEY, json={"Subject": "A new request, same old key"})

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert case_count(admin) == 2


def test_a_new_key_purges_expired_keys_of_every_user(
    admin: ApiUser, make_user: UserFactory, stopped_clock: StoppedClock, database_url: str
) -> None:
    colleague = make_user("CaseAdmin")
    WRITES["create"].send(admin, "expires-first")
    stopped_clock.advance(seconds=10)
    WRITES["create"].send(admin, "expires-later")
    stopped_clock.advance(seconds=DAY - 5)

    WRITES["create"].send(colleague, "fresh")

    assert stored_keys(database_url) == ["expires-later", "fresh"]


def test_the_lifetime_is_configurable(
    settings: Settings, admin: ApiUser, stopped_clock: StoppedClock
) -> None:
    longer = Settings(
        database_url=settings.database_url,
        secret_key=settings.secret_key,
        idempotency_key_lifetime_seconds=2 * DAY,
    )
    with TestClient(create_app(longer)) as http:
        user = ApiUser(
            admin.client_id, admin.client_secret, admin.roles, http, admin.token, admin.headers
        )
        WRITES["create"].send(user, KEY)
        stopped_clock.advance(seconds=2 * DAY - 1)

        retry = WRITES["create"].send(user, KEY)

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert case_count(admin) == 1
