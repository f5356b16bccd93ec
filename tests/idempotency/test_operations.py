"""The operations that take a key: exactly the writes in WRITES (so every test over WRITES covers
each of them), each for CaseAdmins only, each keeping its answer."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.responses import Response
from fastapi.testclient import TestClient
from starlette.routing import compile_path

from casedesk.config import Settings
from casedesk.idempotency.answers import IDEMPOTENT
from casedesk.main import create_app
from tests.conftest import ApiUser
from tests.idempotency.calls import WRITES, Write, prepare, stored_keys

KEY = "order-10542"


def test_the_writes_are_exactly_the_operations_that_declare_the_header(admin: ApiUser) -> None:
    document = admin.get("/swagger/v1/swagger.json").json()
    declaring = {
        (method.upper(), compile_path(path)[0].pattern)
        for path, operations in document["paths"].items()
        for method, spec in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in spec.get("parameters", []))
    }

    covered = {
        (method, pattern)
        for write in WRITES.values()
        for method, pattern in declaring
        if method == write.method and re.match(pattern, write.url)
    }

    assert covered == declaring
    assert len(declaring) == len(WRITES)


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_user_without_case_admin_is_refused_and_keeps_no_key(
    admin: ApiUser, reader: ApiUser, database_url: str, write: Write
) -> None:
    """The middleware serves keys of CaseAdmins only: an operation open to a lesser role would
    run a reader's keyed request twice."""
    prepare(admin, write)

    response = write.send(reader, KEY)

    assert response.status_code == 403, response.text
    assert stored_keys(database_url) == []


def test_a_route_that_does_not_keep_its_answer_is_logged_as_an_error(
    settings: Settings, admin: ApiUser, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    @app.post("/api/forgetful", openapi_extra=IDEMPOTENT)
    async def forgetful() -> Response:
        return Response(b"{}", media_type="application/json")

    with (
        TestClient(app) as http,
        caplog.at_level(logging.ERROR, logger="casedesk"),
    ):
        response = http.post("/api/forgetful", headers={**admin.headers, "Idempotency-Key": KEY})

    assert response.status_code == 200
    assert "POST /api/forgetful answered 200 without keeping its answer" in caplog.text
