"""Access tokens on their own: what is issued, and every forgery verify refuses. No database."""

from __future__ import annotations

import base64
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from casedesk import clock
from casedesk.auth import tokens
from casedesk.errors import NotAuthenticated

KEY = "test-signing-key-that-is-long-enough-for-hs256"
OTHER_KEY = "another-signing-key-that-is-long-enough-too"
KEYS = tokens.SigningKeys(KEY)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
TEN_DAYS = 864_000


def fresh_token(**overrides: Any) -> str:
    return tokens.issue(
        KEY,
        client_id=overrides.get("client_id", "client-1"),
        tenant_id=overrides.get("tenant_id", 1),
        now=overrides.get("now", clock.now()),
        lifetime_seconds=overrides.get("lifetime_seconds", TEN_DAYS),
    )


def live_claims(**changes: Any) -> dict[str, Any]:
    issued = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {"sub": "client-1", "tid": 1, "iat": issued, "exp": issued + 3600}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def unverified_claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], claims: dict[str, Any], digest: str = "sha256") -> str:
    """A token HMAC-signed with the right key whatever its header says, as a forger builds it."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(KEY.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_an_issued_token_verifies_to_its_client_and_tenant() -> None:
    claims = tokens.verify(KEYS, fresh_token(client_id="client-7", tenant_id=3))
    assert (claims.client_id, claims.tenant_id) == ("client-7", 3)


def test_an_issued_token_is_hs256_and_expires_after_its_lifetime() -> None:
    token = fresh_token(now=datetime(2026, 3, 15, 10, 30, tzinfo=UTC), lifetime_seconds=TEN_DAYS)
    header = jwt.get_unverified_header(token)
    payload = unverified_claims(token)
    assert header["alg"] == "HS256"
    assert payload["iat"] == int(datetime(2026, 3, 15, 10, 30, tzinfo=UTC).timestamp())
    assert payload["exp"] - payload["iat"] == TEN_DAYS


def test_a_naive_utc_moment_and_an_aware_one_give_the_same_expiry() -> None:
    naive = fresh_token(now=datetime(2026, 3, 15, 10, 30))
    aware = fresh_token(now=datetime(2026, 3, 15, 10, 30, tzinfo=UTC))
    assert unverified_claims(naive)["exp"] == unverified_claims(aware)["exp"]


def test_two_tokens_issued_at_once_differ() -> None:
    moment = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)
    assert fresh_token(now=moment) != fresh_token(now=moment)


def test_an_expired_token_is_refused_as_expired() -> None:
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.verify(KEYS, fresh_token(now=LONG_AGO))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(jwt.encode(live_claims(), OTHER_KEY, algorithm="HS256"), id="other-key"),
        pytest.param(jwt.encode(live_claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(hand_signed({"alg": "HS512"}, live_claims(), "sha512"), id="hs512"),
        pytest.param(hand_signed({"alg": "HS384"}, live_claims(), "sha384"), id="hs384"),
        pytest.param(hand_signed({"alg": "RS256", "typ": "JWT"}, live_claims()), id="rs256-header"),
        pytest.param(hand_signed({"typ": "JWT"}, live_claims()), id="no-alg"),
        pytest.param("not-a-token", id="garbage"),
        pytest.param("a.b.c", id="three-garbage-parts"),
        pytest.param("", id="empty"),
    ],
)
def test_a_forged_or_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.verify(KEYS, token)


def test_a_token_whose_payload_was_edited_is_refused() -> None:
    header, _, signature = fresh_token(tenant_id=1).split(".")
    edited = _b64(json.dumps(live_claims(tid=2)).encode())
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.verify(KEYS, f"{header}.{edited}.{signature}")


def test_a_correctly_signed_hand_built_token_is_accepted() -> None:
    """The forgery tests above fail for the reason they name, not for how they are built."""
    claims = tokens.verify(KEYS, hand_signed({"alg": "HS256", "typ": "JWT"}, live_claims()))
    assert claims.client_id == "client-1"


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "tid"])
def test_a_token_missing_a_required_claim_is_refused(missing: str) -> None:
    token = jwt.encode(live_claims(**{missing: None}), KEY, algorithm="HS256")
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.verify(KEYS, token)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"tid": "1"}, id="tenant-as-text"),
        pytest.param({"tid": True}, id="tenant-as-boolean"),
        pytest.param({"tid": 1.5}, id="tenant-as-fraction"),
        pytest.param({"sub": 42}, id="client-as-number"),
    ],
)
def test_a_token_with_claims_of_the_wrong_type_is_refused(changes: dict[str, Any]) -> None:
    token = hand_signed({"alg": "HS256", "typ": "JWT"}, live_claims(**changes))
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.verify(KEYS, token)


def test_a_token_issued_in_the_future_is_refused() -> None:
    issued = int(datetime.now(UTC).timestamp()) + 3600
    token = jwt.encode(live_claims(iat=issued, exp=issued + 3600), KEY, algorithm="HS256")
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.verify(KEYS, token)


# After a rotation: the new key signs, the old one verifies until its grace ends.

# An hour from now: tokens issued now (ten days long) are still live when it ends.
GRACE_ENDS = time.time() + 3600
ROTATED = tokens.SigningKeys(OTHER_KEY, (tokens.RetiringKey(KEY, until=GRACE_ENDS),))


def test_a_token_of_the_retiring_key_verifies_until_its_grace_ends_even_once_cached() -> None:
    token = fresh_token()
    during = tokens.verify(ROTATED, token, now=lambda: GRACE_ENDS - 1)
    assert during.client_id == "client-1"
    with pytest.raises(NotAuthenticated, match="retired key"):
        tokens.verify(ROTATED, token, now=lambda: GRACE_ENDS)


def test_a_token_of_the_new_key_verifies_after_the_old_keys_grace() -> None:
    token = tokens.issue(
        ROTATED.current, client_id="client-2", tenant_id=1, now=clock.now(), lifetime_seconds=60
    )
    assert tokens.verify(ROTATED, token, now=lambda: time.time() + 30).client_id == "client-2"


def test_a_token_of_neither_key_is_refused() -> None:
    token = jwt.encode(
        live_claims(), "a-third-key-that-is-long-enough-for-hs256", algorithm="HS256"
    )
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.verify(ROTATED, token)


def test_an_expired_token_of_the_retiring_key_is_refused_as_expired() -> None:
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.verify(ROTATED, fresh_token(now=LONG_AGO))


def test_a_forged_header_is_refused_with_the_retiring_key_too() -> None:
    with pytest.raises(NotAuthenticated, match="not valid"):
        tokens.verify(ROTATED, hand_signed({"alg": "HS512"}, live_claims(), "sha512"))
