"""The writes that take an Idempotency-Key, and readings the idempotency tests share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx2 as httpx
import sqlalchemy as sa

from casedesk import clock
from casedesk.storage.database import sync_url
from tests.conftest import ApiUser

CASE_ID = "abc123"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Write:
    """One write endpoint, called on the case CASE_ID (deleted first when `deleted` is set)."""

    name: str
    method: str
    url: str
    status: int = 200
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    deleted: bool = False

    def send(self, user: ApiUser, key: str | None, **kwargs: Any) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        headers.update(kwargs.pop("headers", {}))
        if self.json is not None:
            kwargs.setdefault("json", self.json)
        kwargs.setdefault("params", self.params)
        return user.request(self.method, self.url, headers=headers, **kwargs)


WRITES = {
    write.name: write
    for write in [
        Write("create", "POST", "/api/cases", 201, {"Subject": "Order arrived damaged"}),
        Write(
            "addmany",
            "POST",
            "/api/cases/addmany",
            json=[{"Subject": "Refund please"}, {"Subject": "Wrong size"}],
        ),
        Write("comment", "POST", f"/api/cases/{CASE_ID}/comments", 201, {"Detail": "Called"}),
        Write(
            "assignto",
            "POST",
            f"/api/cases/{CASE_ID}/assignto",
            params={"userId": "user-456", "userName": "John Agent"},
        ),
        Write(
            "changestatus",
            "POST",
            f"/api/cases/{CASE_ID}/changestatus",
            params={"status": "In Progress"},
        ),
        Write("restore", "POST", f"/api/cases/{CASE_ID}/restore", deleted=True),
        Write(
            "replace",
            "PUT",
            "/api/cases",
            json={"Id": CASE_ID, "Subject": "Box dented", "Status": "New", "Priority": "High"},
        ),
        Write("patch", "PATCH", "/api/cases", json={"Id": CASE_ID, "Priority": "Critical"}),
        Write(
            "patchmany",
            "PATCH",
            "/api/cases/patchmany",
            json=[{"Id": CASE_ID, "Tags": ["Escalated"]}],
        ),
        Write("delete", "DELETE", f"/api/cases/{CASE_ID}"),
    ]
}


def prepare(user: ApiUser, write: Write) -> None:
    """The case CASE_ID, as the write expects to find it."""
    user.create_case(Id=CASE_ID)
    if write.deleted:
        assert user.delete(f"/api/cases/{CASE_ID}").status_code == 200


def case_count(user: ApiUser) -> int:
    response = user.post("/api/cases/search", json={"IncludeDeleted": True})
    assert response.status_code == 200, response.text
    total: int = response.json()["TotalHits"]
    return total


def stored_keys(database_url: str) -> list[str]:
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT key FROM idempotency_keys ORDER BY key")
            return [str(key) for (key,) in rows]
    finally:
        engine.dispose()


class StoppedClock:
    """casedesk's clock held at the moment the test starts, moved on by hand. Users (and their
    tokens) are made before it stops: token expiry reads the real time."""

    def __init__(self) -> None:
        self.moment = clock.now()

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)
