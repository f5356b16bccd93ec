"""A search that runs past CASEDESK_SEARCH_TIMEOUT_SECONDS is stopped and answered 503."""

from __future__ import annotations

import pytest
from sqlalchemy import TextClause, text

from casedesk.cases import search
from casedesk.config import Settings
from tests.conftest import SECRET_KEY, ApiUser

# A condition that counts for minutes before it answers, on both backends: a stand-in for
# a search too broad for its data.
ENDLESS = text(
    "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) "
    "SELECT count(*) FROM c) > 0"
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET_KEY, search_timeout_seconds=0.3)


@pytest.fixture(autouse=True)
def endless_text_search(monkeypatch: pytest.MonkeyPatch) -> None:
    def endless(words: tuple[str, ...], backend: str) -> list[TextClause]:
        return [ENDLESS] if words else []

    monkeypatch.setattr(search, "_text_conditions", endless)


def test_a_search_past_the_time_limit_is_a_503_that_says_so(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")

    response = admin.post("/api/cases/search", json={"SearchText": "damaged"})

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "did not finish within 0.3 seconds" in response.json()["detail"]
    # The same search would take as long again: nothing to wait for.
    assert "Retry-After" not in response.headers


def test_a_scroll_past_the_time_limit_is_a_503_that_says_so(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")

    response = admin.post("/api/cases/scroll", json={"SearchText": "damaged"})

    assert response.status_code == 503
    assert "did not finish within 0.3 seconds" in response.json()["detail"]


def test_a_search_within_the_time_limit_is_answered(admin: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")

    response = admin.post("/api/cases/search", json={"Status": "New"})

    assert response.status_code == 200
    assert response.json()["TotalHits"] == 1
