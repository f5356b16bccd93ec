"""A PostgreSQL connection that dies under the server (restart, failover, an idle timeout)
costs at most a 503 with Retry-After, never a 500, and the next request works: the pool
does not ping before each checkout (a round trip per request), so a dead connection is
found by the request that uses it."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import UserFactory


def _terminate_server_connections(database_url: str) -> int:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("backend_database", ["postgresql"], indirect=True)
def test_requests_after_the_database_drops_its_connections_get_503_then_work(
    database_url: str, make_user: UserFactory
) -> None:
    admin = make_user("CaseAdmin")
    case = admin.create_case()
    path = f"/api/cases/{case['Id']}"
    search = {"SearchText": "damaged"}
    calls = [
        lambda: admin.get(path),
        lambda: admin.patch("/api/cases", json={"Id": case["Id"], "Priority": "High"}),
        lambda: admin.post("/api/cases/search", json=search),
        lambda: admin.post("/api/cases", json={"Subject": "after the restart"}),
    ]
    for call in calls:
        assert call().status_code < 300
    assert _terminate_server_connections(database_url) > 0

    first = [call() for call in calls for _ in range(3)]
    for response in first:
        assert response.status_code < 300 or response.status_code == 503, response.text
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "1"
            assert response.json()["status"] == 503
    # Each dead connection fails one request at most, and is then replaced.
    for _ in range(20):
        for call in calls:
            assert call().status_code < 300
