from __future__ import annotations

from casedesk.auth import passwords


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
