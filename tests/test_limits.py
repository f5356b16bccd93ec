"""Bodies over Settings.max_body_bytes are refused with a 413 problem, however they are sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from casedesk.config import Settings
from casedesk.main import create_app
from tests.conftest import ApiUser
from tests.test_problems import assert_problem

LIMIT = 1024


@pytest.fixture
def small(settings: Settings, admin: ApiUser) -> Iterator[ApiUser]:
    """The admin, talking to an app that accepts bodies of at most LIMIT bytes."""
    app = create_app(replace(settings, max_body_bytes=LIMIT))
    with TestClient(app, raise_server_exceptions=False) as http:
        yield replace(admin, http=http)


def case_body(size: int) -> bytes:
    """A valid create body of exactly `size` bytes."""
    head, tail = b'{"Subject": "Order arrived damaged", "Description": "', b'"}'
    return head + b"d" * (size - len(head) - len(tail)) + tail


def chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


JSON = {"Content-Type": "application/json"}


def test_a_body_over_the_limit_with_content_length_is_a_413(small: ApiUser) -> None:
    response = small.post("/api/cases", content=case_body(LIMIT + 1), headers=JSON)
    body = assert_problem(response, 413)
    assert "1,024 bytes" in body["detail"]


def test_a_chunked_body_over_the_limit_is_a_413(small: ApiUser) -> None:
    response = small.post("/api/cases", content=chunks(case_body(LIMIT * 3)), headers=JSON)
    assert_problem(response, 413)


def test_the_limit_applies_before_authentication(small: ApiUser) -> None:
    response = small.http.post("/api/cases", content=case_body(LIMIT * 2), headers=JSON)
    assert_problem(response, 413)


def test_a_body_of_exactly_the_limit_is_accepted(small: ApiUser) -> None:
    response = small.post("/api/cases", content=case_body(LIMIT), headers=JSON)
    assert response.status_code == 201, response.text


def test_a_chunked_body_under_the_limit_is_accepted(small: ApiUser) -> None:
    response = small.post("/api/cases", content=chunks(case_body(LIMIT - 10)), headers=JSON)
    assert response.status_code == 201, response.text


def test_the_default_limit_accepts_the_largest_description(admin: ApiUser) -> None:
    case = admin.create_case(Description="d" * 100_000)
    assert len(case["Description"]) == 100_000
