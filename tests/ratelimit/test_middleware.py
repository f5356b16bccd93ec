"""The middleware alone, around a stand-in app and a clock the test moves: concurrency, refill,
and places given back whatever the request did."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casedesk.auth import tokens
from casedesk.config import RateLimits
from casedesk.ratelimit.bucket import NS
from casedesk.ratelimit.middleware import RateLimit

KEY = "test-signing-key-that-is-long-enough-for-hs256"
KEYS = tokens.SigningKeys(KEY)


def token(client_id: str) -> str:
    return tokens.issue(
        KEY, client_id=client_id, tenant_id=1, now=datetime.now(UTC), lifetime_seconds=3600
    )


ALICE, BOB = token("alice"), token("bob")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * NS

    def __call__(self) -> int:
        return self.now


class Gate:
    """An endpoint that answers once the test opens it; `full` is set when `expected`
    requests are inside."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.opened = anyio.Event()
        self.full = anyio.Event()
        self.entered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered += 1
        if self.entered == self.expected:
            self.full.set()
        await self.opened.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


# Only a safety net against a test that would hang when the code under test is wrong.
HANG = 30


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def broken(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the endpoint failed")


async def call(app: RateLimit, bearer: str) -> tuple[int, dict[bytes, bytes]]:
    """GET /api/cases/abc123 with this token: the status and headers answered."""
    sent: list[Message] = []
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/cases/abc123",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {bearer}".encode())],
        "client": ("127.0.0.1", 50000),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"])


def limiter(app: ASGIApp, limits: RateLimits, clock: Clock | None = None) -> RateLimit:
    return RateLimit(app, limits=limits, signing_keys=lambda: KEYS, clock=clock or Clock())


def test_past_the_concurrent_limit_a_request_is_refused_until_one_finishes() -> None:
    async def scenario() -> list[int]:
        gate = Gate(expected=2)
        limited = limiter(gate, RateLimits(concurrent=2))
        statuses: list[int] = []

        async def request() -> None:
            statuses.append((await call(limited, ALICE))[0])

        with anyio.fail_after(HANG):
            async with anyio.create_task_group() as group:
                group.start_soon(request)
                group.start_soon(request)
                await gate.full.wait()
                await request()  # a third, while two are in flight
                gate.opened.set()
            await request()  # after they finished
        return statuses

    assert anyio.run(scenario) == [429, 200, 200, 200]


def test_a_concurrency_refusal_asks_to_retry_in_a_second() -> None:
    async def scenario() -> tuple[int, dict[bytes, bytes]]:
        gate = Gate(expected=1)
        limited = limiter(gate, RateLimits(concurrent=1))
        with anyio.fail_after(HANG):
            async with anyio.create_task_group() as group:
                group.start_soon(call, limited, ALICE)
                await gate.full.wait()
                refused = await call(limited, ALICE)
                gate.opened.set()
        return refused

    status, headers = anyio.run(scenario)
    assert status == 429
    assert headers[b"retry-after"] == b"1"
    assert headers[b"ratelimit-remaining"] != b"0"


def test_other_users_are_not_held_up_by_one_at_its_concurrent_limit() -> None:
    async def scenario() -> list[int]:
        gate = Gate(expected=2)
        limited = limiter(gate, RateLimits(concurrent=1))
        statuses: list[int] = []

        async def request(bearer: str) -> None:
            statuses.append((await call(limited, bearer))[0])

        with anyio.fail_after(HANG):
            async with anyio.create_task_group() as group:
                group.start_soon(request, ALICE)
                group.start_soon(request, BOB)
                await gate.full.wait()
                gate.opened.set()
        return statuses

    assert anyio.run(scenario) == [200, 200]


def test_a_request_that_fails_gives_its_place_back() -> None:
    async def scenario() -> int:
        limited = limiter(broken, RateLimits(concurrent=1))
        with pytest.raises(RuntimeError):
            await call(limited, ALICE)
        limited.app = ok
        return (await call(limited, ALICE))[0]

    assert anyio.run(scenario) == 200


def test_the_bucket_refills_as_the_clock_moves() -> None:
    clock = Clock()
    limited = limiter(ok, RateLimits(burst=2, refill=1, refill_seconds=10), clock)

    async def statuses(count: int) -> list[int]:
        return [(await call(limited, ALICE))[0] for _ in range(count)]

    assert anyio.run(statuses, 3) == [200, 200, 429]
    clock.now += 10 * NS - 1
    assert anyio.run(statuses, 1) == [429]
    clock.now += 1
    assert anyio.run(statuses, 2) == [200, 429]


def test_retry_after_says_when_the_next_token_comes() -> None:
    clock = Clock()
    limited = limiter(ok, RateLimits(burst=1, refill=1, refill_seconds=10), clock)
    anyio.run(call, limited, ALICE)
    clock.now += 4 * NS
    status, headers = anyio.run(call, limited, ALICE)
    assert status == 429
    assert headers[b"retry-after"] == b"6"
    assert headers[b"ratelimit-reset"] == b"6"


def test_a_new_token_for_the_same_client_starts_no_new_bucket() -> None:
    limited = limiter(ok, RateLimits(burst=2))
    anyio.run(call, limited, ALICE)
    anyio.run(call, limited, token("alice"))
    assert anyio.run(call, limited, token("alice"))[0] == 429


async def unauthorized(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def ask_token(app: RateLimit, client_id: str) -> int:
    """POST /api/token for this client id from 192.0.2.7: the status answered."""
    sent: list[Message] = []
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/token",
        "query_string": f"clientId={client_id}&clientSecret=wrong".encode(),
        "headers": [],
        "client": ("192.0.2.7", 50000),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status: int = sent[0]["status"]
    return status


ONE_FAILURE = RateLimits(token_failures=1, token_failure_seconds=3600)


def test_a_token_request_cut_off_before_its_answer_stays_counted() -> None:
    """Its secret may have been checked: giving its failure back would let a caller who
    never waits for the answer guess without limit."""
    limited = limiter(broken, ONE_FAILURE)
    with pytest.raises(RuntimeError):
        anyio.run(ask_token, limited, "alice")
    limited.app = ok
    assert anyio.run(ask_token, limited, "alice") == 429


def test_a_token_request_refused_for_its_address_leaves_its_client_id_uncounted() -> None:
    clock = Clock()
    limited = limiter(unauthorized, ONE_FAILURE, clock)
    for guess in range(10):
        assert anyio.run(ask_token, limited, f"guess-{guess}") == 401
    assert anyio.run(ask_token, limited, "alice") == 429
    clock.now += 360 * NS  # one more failure for the address; alice had never failed
    assert anyio.run(ask_token, limited, "alice") == 401
