from __future__ import annotations

import threading
import time
from collections.abc import Callable

import anyio
import pytest

from casedesk.auth import passwords
from casedesk.errors import Unavailable


def test_production_hashing_is_argon2id_at_least_as_costly_as_owasp_asks() -> None:
    # The suite swaps in a cheap hasher; this pins what production uses.
    hasher = passwords.production_hasher()
    assert hasher.memory_cost >= 19_456
    assert hasher.time_cost >= 2
    assert hasher.hash("secret").startswith("$argon2id$")


def test_a_secret_verifies_against_its_hash_and_nothing_else() -> None:
    stored = passwords.hash_secret("correct horse")
    assert passwords.verify_secret(stored, "correct horse")
    assert not passwords.verify_secret(stored, "wrong horse")


def test_a_malformed_hash_never_verifies() -> None:
    assert not passwords.verify_secret("not-a-hash", "anything")


def test_new_secrets_are_long_and_distinct() -> None:
    first, second = passwords.new_secret(), passwords.new_secret()
    assert first != second
    assert len(first) >= 40


# Only a safety net against a test that would hang when the code under test is wrong.
HANG = 10


def test_no_more_secrets_are_verified_at_once_than_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = passwords.hash_secret("correct horse")
    verify, lock = passwords.verify_secret, threading.Lock()
    running, most = 0, 0

    def counted(secret_hash: str, secret: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return verify(secret_hash, secret)

    monkeypatch.setattr(passwords, "verify_secret", counted)

    async def six_at_once() -> list[bool]:
        verifier = passwords.Verifier(2, wait_seconds=HANG)
        results: list[bool] = []

        async def one(secret: str) -> None:
            results.append(await verifier.verify(stored, secret))

        async with anyio.create_task_group() as tasks:
            for secret in ["correct horse"] * 3 + ["wrong horse"] * 3:
                tasks.start_soon(one, secret)
        return results

    assert sorted(anyio.run(six_at_once)) == [False] * 3 + [True] * 3
    assert most == 2


def held_until(release: threading.Event) -> Callable[[str, str], bool]:
    def held(secret_hash: str, secret: str) -> bool:
        release.wait(HANG)
        return False

    return held


def test_past_its_wait_a_verification_is_refused_with_a_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    monkeypatch.setattr(passwords, "verify_secret", held_until(release))

    async def second_of_one() -> Unavailable:
        verifier = passwords.Verifier(1, wait_seconds=0.1)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(verifier.verify, "hash", "secret")
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(Unavailable) as refused:
                await verifier.verify("hash", "secret")
            release.set()
        return refused.value

    assert anyio.run(second_of_one).retry_after_seconds == 1


def test_a_refused_verification_leaves_no_turn_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(passwords, "verify_secret", held_until(release))

    async def after_a_refusal() -> bool:
        verifier = passwords.Verifier(1, wait_seconds=0.1)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(verifier.verify, "hash", "secret")
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(Unavailable):
                await verifier.verify("hash", "secret")
            release.set()
        return await verifier.verify("hash", "secret")

    assert anyio.run(after_a_refusal) is False
