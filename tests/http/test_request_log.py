"""Request ids, one JSON log line per request, and no secret in any log line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from casedesk.config import Settings
from casedesk.http.guards import TimeLimit
from casedesk.http.request_log import JsonFormatter, RequestLog, logging_config
from casedesk.main import create_app
from tests.conftest import ApiUser
from tests.http.test_problems import assert_problem

ASPNET_TRACE_ID = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00")


@dataclass
class Logs:
    stream: io.StringIO

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines()]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "casedesk.access"]


@pytest.fixture(params=["INFO", "DEBUG"])
def logs(request: pytest.FixtureRequest) -> Iterator[Logs]:
    """Every record the server side logs, formatted as `casedesk serve` formats it, at the
    level given and with the per-library levels of serve's logging config."""
    level: str = request.param
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    # The test client's own request lines (with full URLs) are not the server's.
    handler.addFilter(lambda record: not record.name.startswith("httpx"))
    loggers = {"": level} | {
        name: entry["level"]
        for name, entry in logging_config(level)["loggers"].items()
        if "level" in entry
    }
    before = {name: logging.getLogger(name).level for name in loggers}
    for name, chosen in loggers.items():
        logging.getLogger(name).setLevel(chosen)
    logging.getLogger().addHandler(handler)
    try:
        yield Logs(stream)
    finally:
        logging.getLogger().removeHandler(handler)
        for name, old in before.items():
            logging.getLogger(name).setLevel(old)


def test_an_answer_carries_a_new_request_id_shaped_like_aspnet_trace_ids(
    client: TestClient,
) -> None:
    response = client.get("/api/cases/abc123")
    body = assert_problem(response, 401)
    assert ASPNET_TRACE_ID.fullmatch(response.headers["x-request-id"])
    assert body["traceId"] == response.headers["x-request-id"]


def test_every_request_gets_its_own_id(client: TestClient) -> None:
    ids = {client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    "request_id", ["req-42", "0b3c9d2e-5f7a-4c1e-9a8b-2d6f1e0c4b7a", "Root=1-67891233:abc/x+y="]
)
def test_a_well_formed_request_id_is_echoed_as_header_and_trace_id(
    client: TestClient, request_id: str
) -> None:
    response = client.get("/api/nothing-here", headers={"X-Request-Id": request_id})
    assert response.headers["x-request-id"] == request_id
    assert assert_problem(response, 404)["traceId"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["r" * 129, "two words", 'quote"d', "semi;colon", "<script>", "caf\u00e9", ""],
)
def test_a_malformed_request_id_is_replaced_everywhere_by_a_new_one(
    client: TestClient, logs: Logs, request_id: str
) -> None:
    raw = request_id.encode()
    response = client.get("/api/nothing-here", headers=[(b"X-Request-Id", raw)])
    new_id = response.headers["x-request-id"]
    assert ASPNET_TRACE_ID.fullmatch(new_id)
    assert assert_problem(response, 404)["traceId"] == new_id
    [line] = logs.requests()
    assert line["requestId"] == new_id


def test_a_request_is_logged_as_one_json_line_naming_the_user(admin: ApiUser, logs: Logs) -> None:
    case = admin.create_case()
    logs.stream.truncate(0)
    logs.stream.seek(0)

    response = admin.get(f"/api/cases/{case['Id']}", headers={"X-Request-Id": "req-7"})

    assert response.status_code == 200
    [line] = logs.requests()
    assert line["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert {k: line[k] for k in ("method", "path", "status", "requestId", "clientId")} == {
        "method": "GET",
        "path": "/api/cases/{id}",
        "status": 200,
        "requestId": "req-7",
        "clientId": admin.client_id,
    }
    assert isinstance(line["tenantId"], int)
    assert isinstance(line["durationMs"], float | int)
    assert line["durationMs"] >= 0


def test_an_anonymous_request_is_logged_without_a_user(client: TestClient, logs: Logs) -> None:
    client.get("/health")
    [line] = logs.requests()
    assert line["path"] == "/health"
    assert line["clientId"] is None
    assert line["tenantId"] is None


def test_a_request_no_route_matches_is_logged_without_its_path(
    client: TestClient, logs: Logs
) -> None:
    client.get("/nowhere/customer-data?q=1")
    [line] = logs.requests()
    assert line["status"] == 404
    assert line["path"] is None
    assert "customer-data" not in logs.text()


def test_a_token_or_secret_sent_anywhere_never_reaches_the_logs(admin: ApiUser, logs: Logs) -> None:
    secret = admin.client_secret
    credentials = {"clientId": admin.client_id, "clientSecret": secret}
    issued = admin.http.post("/api/token", params=credentials)
    as_json = admin.http.post("/api/token", params={**credentials, "returnAsJson": "true"})
    assert issued.status_code == as_json.status_code == 200
    token = issued.text
    bearer = {"Authorization": f"Bearer {token}"}
    leaky = f"{token} {secret}"
    case = admin.create_case(Description=leaky, CustomerName=secret)
    http = admin.http
    answers = [
        issued,
        as_json,
        http.post("/api/token", params={**credentials, "clientSecret": secret + "x"}),
        http.post("/api/token", params=credentials, json={"clientSecret": secret}),
        http.get(f"/api/cases/{case['Id']}", headers=bearer),
        http.get(f"/api/cases/{token}", headers=bearer),
        http.get(f"/api/cases/{secret}", params={"access_token": token}),
        http.get("/api/cases/abc", headers={"Authorization": f"Token {secret}"}),
        http.get("/api/cases/abc", headers={"Authorization": f"Bearer {secret}"}),
        http.get("/api/cases/abc", headers={"X-Api-Key": token, "Cookie": f"token={token}"}),
        http.patch("/api/cases", headers=bearer, json={"Id": case["Id"], "Description": leaky}),
        http.post("/api/cases", headers=bearer, json={"Subject": leaky, "Oops": secret}),
        http.post("/api/cases", headers=bearer, content=leaky.encode()),
        http.post("/api/cases/search", headers=bearer, json={"SearchText": secret}),
        http.get(f"/api/{token}/{secret}", params={"clientSecret": secret}),
        http.get("/health", params={"token": token}),
    ]

    assert [a.status_code for a in answers[:4]] == [200, 200, 401, 200]
    assert len(logs.requests()) == len(answers) + 1  # the create above
    text = logs.text()
    for value in (secret, token, token.split(".")[2]):
        assert value not in text


def test_an_unexpected_error_is_a_500_problem_logged_with_its_traceback_and_id(
    settings: Settings, logs: Logs
) -> None:
    app = create_app(settings)

    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("the disk is on fire")

    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/test/boom", headers={"X-Request-Id": "req-500"})

    body = assert_problem(response, 500)
    assert body["traceId"] == "req-500"
    assert response.headers["x-request-id"] == "req-500"
    assert "fire" not in response.text
    [line] = logs.requests()
    assert line["level"] == "ERROR"
    assert (line["status"], line["requestId"], line["path"]) == (500, "req-500", "/test/boom")
    assert "RuntimeError: the disk is on fire" in line["exception"]
    assert "Traceback" in line["exception"]


def test_the_serve_logging_config_writes_json_and_silences_uvicorns_access_log() -> None:
    config = logging_config("WARNING")
    assert config["root"]["level"] == "WARNING"
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": False}
    record = logging.LogRecord("casedesk", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "casedesk", "a b")


def test_a_request_abandoned_by_its_client_is_logged_as_499(logs: Logs) -> None:
    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await asyncio.sleep(30)

    received = 0

    async def leaving_client() -> Message:
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(0.2)
        return {"type": "http.disconnect"}

    async def no_answer(message: Message) -> None:
        raise AssertionError(f"nothing should be sent to a client that has gone: {message}")

    scope = {"type": "http", "method": "POST", "path": "/api/cases/search", "headers": []}
    app = RequestLog(TimeLimit(slow, seconds=4))
    asyncio.run(app(scope, leaving_client, no_answer))

    [line] = logs.requests()
    assert line["status"] == 499
    assert line["level"] == "INFO"
