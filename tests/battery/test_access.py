"""Access battery: every endpoint against callers who should not get through: forged, expired,
re-signed and edited tokens, deactivated users, readers who write, users of another market
or tenant. None may succeed, and none may learn that a hidden case exists.

The endpoints are tests/test_access_matrix.py's CALLS, which that file proves cover every
/api/cases endpoint. "Learning that a case exists" is checked by sending each call twice,
once for the hidden case and once for an id that exists nowhere: the answers must match.
Creating with a chosen Id is left out on purpose: Ids are the tenant's, so a taken one is a
409 whatever its market (docs/api.md, Markets; tests/cases/test_create.py pins it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import service as auth_service
from tests.battery import figures
from tests.conftest import SECRET_KEY, ApiUser, UserFactory, run_in_transaction
from tests.test_access_matrix import CALLS, CASE_ID, MARKET, MATRIX, PROBLEM_JSON, Call

DELETED_ID = "deleted-case"
MISSING_ID = "no-such-case"
Headers = Mapping[str, str] | Mapping[bytes, bytes]
OTHER_KEY = "another-signing-key-that-is-long-enough-for-hs256"


# --- forging tokens ----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(_unb64(token.split(".")[1]))
    return claims


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def signed(alg: str, claims: dict[str, Any], digest: Any = hashlib.sha256) -> str:
    """A token whose header names `alg`, signed by HMAC with the real key and `digest`: with
    a mismatched pair, the algorithm-confusion attack on verifiers that trust the header."""
    signing_input = _segments({"alg": alg, "typ": "JWT"}, claims)
    signature = hmac.new(SECRET_KEY.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + _b64(signature)


def unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    return _segments({"alg": alg, "typ": "JWT"}, claims) + "."


def edited(token: str, **changes: Any) -> str:
    """The token with its claims changed and its original signature kept."""
    header, _, signature = token.split(".")
    claims = {**_claims(token), **changes}
    return header + "." + _b64(json.dumps(claims).encode()) + "." + signature


def with_flipped_signature(token: str) -> str:
    head, _, signature = token.rpartition(".")
    raw = bytearray(_unb64(signature))
    raw[0] ^= 0x01
    return head + "." + _b64(bytes(raw))


# --- the attackers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attacker:
    """A caller and what every call must answer it: one status for all, or a matrix column."""

    kind: str
    headers: Headers
    status: int | None = None
    column: str | None = None

    def expected(self, call_name: str) -> int:
        if self.status is not None:
            return self.status
        assert self.column is not None
        return MATRIX[call_name][COLUMNS.index(self.column)]


COLUMNS = (
    "no token",
    "bad token",
    "CaseRead",
    "CaseAdmin",
    "ApiOwner",
    "other market",
    "other tenant",
)


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def deactivate(database_url: str, user: ApiUser) -> None:
    async def work(session: AsyncSession) -> None:
        await auth_service.deactivate_user(session, client_id=user.client_id)

    run_in_transaction(database_url, work)


def attackers(make_user: UserFactory, owner: ApiUser, database_url: str) -> list[Attacker]:
    reader = make_user("CaseRead")
    stranger = make_user("ApiOwner", tenant="acme")
    real = _claims(owner.token)
    now = int(time.time())
    expired = {**real, "iat": now - 7200, "exp": now - 60}
    gone = make_user("ApiOwner")
    deactivate(database_url, gone)
    refused: list[tuple[str, str]] = [
        # malformed
        ("malformed: three dots", "a.b.c"),
        ("malformed: two parts", "a.b"),
        ("malformed: empty parts", ".."),
        ("malformed: base64 noise", _b64(b"\xff" * 48)),
        ("malformed: JSON header, no payload", _b64(b'{"alg":"HS256"}') + ".."),
        (
            "malformed: payload is a list",
            _segments({"alg": "HS256"}, {}).split(".")[0] + "." + _b64(b"[1]") + ".x",
        ),
        ("malformed: 10 KB", "t" * 10_240),
        ("malformed: token with a trailing word", owner.token + " extra"),
        # expired, however it is signed
        ("expired", jwt.encode(expired, SECRET_KEY, algorithm="HS256")),
        (
            "expired and re-dated, signature kept",
            edited(jwt.encode(expired, SECRET_KEY, algorithm="HS256"), exp=now + 3600),
        ),
        # wrong signature
        ("signed with another key", jwt.encode(real, OTHER_KEY, algorithm="HS256")),
        ("signature flipped", with_flipped_signature(owner.token)),
        ("signature removed", owner.token.rpartition(".")[0] + "."),
        (
            "signature of another token",
            owner.token.rpartition(".")[0] + "." + reader.token.rpartition(".")[2],
        ),
        # alg none
        ("alg none", unsigned(real)),
        ("alg None", unsigned(real, "None")),
        ("alg NONE", unsigned(real, "NONE")),
        ("alg none with the real signature", unsigned(real) + owner.token.rpartition(".")[2]),
        # algorithm switched
        ("HS512 with the real key", signed("HS512", real, hashlib.sha512)),
        ("HS384 with the real key", signed("HS384", real, hashlib.sha384)),
        ("RS256 header, HS256 signature", signed("RS256", real)),
        ("ES256 header, HS256 signature", signed("ES256", real)),
        ("hs256 in lower case", signed("hs256", real)),
        # payload edited, signature kept
        ("reader edited to the owner", edited(reader.token, sub=owner.client_id)),
        ("reader given roles", edited(reader.token, roles=["ApiOwner", "AllMarkets"])),
        ("other tenant edited to this one", edited(stranger.token, tid=real["tid"])),
        ("tenant id as text", edited(owner.token, tid=str(real["tid"]))),
        ("expiry pushed out", edited(owner.token, exp=now + 10 * 365 * 86400)),
        # signed with the real key but not a live user: the key alone makes nobody
        (
            "unknown user",
            jwt.encode({**real, "sub": "no-such-client"}, SECRET_KEY, algorithm="HS256"),
        ),
        ("unknown tenant", jwt.encode({**real, "tid": 999_999}, SECRET_KEY, algorithm="HS256")),
        ("tenant id true", jwt.encode({**real, "tid": True}, SECRET_KEY, algorithm="HS256")),
        ("subject a number", jwt.encode({**real, "sub": 1}, SECRET_KEY, algorithm="HS256")),
        (
            "no expiry",
            jwt.encode(
                {k: v for k, v in real.items() if k != "exp"}, SECRET_KEY, algorithm="HS256"
            ),
        ),
        ("deactivated user", gone.token),
    ]
    schemes: list[tuple[str, Headers]] = [
        ("Basic scheme", {"Authorization": "Basic " + _b64(f"{owner.client_id}:x".encode())}),
        ("token without scheme", {"Authorization": owner.token}),
        ("scheme without token", {"Authorization": "Bearer"}),
        ("token in a cookie", {"Cookie": f"access_token={owner.token}"}),
        ("token in X-Access-Token", {"X-Access-Token": owner.token}),
        ("UTF-8 bytes in the token", {b"Authorization": "Bearer t\u00f8ken".encode()}),
    ]
    return [
        *(Attacker(kind, bearer(token), status=401) for kind, token in refused),
        *(Attacker(kind, headers, status=401) for kind, headers in schemes),
        Attacker("CaseRead writing", reader.headers, column="CaseRead"),
        Attacker(
            "CaseRead of another market",
            make_user("CaseRead", markets=("SE",)).headers,
            status=None,
            column="CaseRead",
        ),
        Attacker(
            "CaseAdmin of another market",
            make_user("CaseAdmin", markets=("SE",)).headers,
            column="other market",
        ),
        # Settings are tenant-wide: an ApiOwner limited to markets may not change them.
        Attacker(
            "ApiOwner of another market",
            make_user("ApiOwner", markets=("SE",)).headers,
            column="other market",
        ),
        Attacker(
            "CaseAdmin of another tenant",
            make_user("CaseAdmin", tenant="acme").headers,
            column="other tenant",
        ),
    ]


# A market-scoped reader is refused writes by its role (403) before any case is looked up,
# and reads of a hidden case are 404: the CaseRead column, but hidden reads answer 404.
HIDDEN_READS = {"GET case"}


# --- the battery -------------------------------------------------------------------------


@dataclass
class Tally:
    attempts: int = 0
    successes: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


def prepared(call: Call, scroll_id: str, case_id: str) -> Call:
    """The call aimed at `case_id` (the deleted case for restore) and at the owner's scroll."""
    target = DELETED_ID if call.needs_deleted_case and case_id == CASE_ID else case_id
    body = call.body
    if isinstance(body, dict) and body.get("Id") == CASE_ID:
        body = {**body, "Id": target}
    elif isinstance(body, list):
        body = [{**item, "Id": target} if item.get("Id") == CASE_ID else item for item in body]
    return replace(
        call, path=call.path.replace(CASE_ID, target).replace("{scrollId}", scroll_id), body=body
    )


def send(http: Any, call: Call, headers: Headers) -> httpx.Response:
    response: httpx.Response = http.request(
        call.method, call.path, params=call.params, json=call.body, headers=headers
    )
    return response


def aims_at_a_case(call: Call) -> bool:
    return CASE_ID in call.path or CASE_ID in json.dumps(call.body)


def comparable(response: httpx.Response, case_id: str) -> str:
    """What a caller learns from an answer about a case, with the id it asked about blanked
    out: the status, and the problem's detail or a batch's per-item errors."""
    learned: Any = None
    if response.headers.get("content-type") == PROBLEM_JSON:
        learned = response.json().get("detail")
    elif response.status_code == 200 and "Errors" in response.text:
        learned = response.json().get("Errors")
    return f"{response.status_code} {json.dumps(learned)}".replace(case_id, "?")


def overreach(call_name: str, response: httpx.Response, *, market_bound: bool) -> str | None:
    """A 200 that nonetheless shows or changes the hidden case, if it does."""
    if response.status_code != 200 or response.headers.get("content-type") != "application/json":
        return None
    body = response.json()
    if isinstance(body, dict) and any(
        item.get("Id") == CASE_ID for item in body.get("Items", []) if "Subject" in item
    ):
        return "the hidden case is among the hits"
    if call_name == "patchmany" and body.get("UpdatedCount"):
        return "the hidden case was patched"
    if call_name == "addmany" and body.get("CreatedCount") and market_bound:
        return "a case was created in a market the caller lacks"
    return None


def expected_for(attacker: Attacker, call_name: str) -> int:
    if attacker.kind == "CaseRead of another market" and call_name in HIDDEN_READS:
        return 404
    return attacker.expected(call_name)


@pytest.fixture
def scene(owner: ApiUser) -> dict[str, Any]:
    """The owner's case in market NO, a soft-deleted one for restore, and the owner's scroll."""
    owner.create_case(Id=CASE_ID, MarketId=MARKET)
    owner.create_case(Id=DELETED_ID, MarketId=MARKET)
    assert owner.delete(f"/api/cases/{DELETED_ID}").status_code == 200
    scroll_id = owner.post("/api/cases/scroll", json={}).json()["ScrollId"]
    return {
        "scroll": scroll_id,
        "case": owner.get(f"/api/cases/{CASE_ID}").json(),
        "settings": owner.get("/api/cases/settings").json(),
    }


def test_no_attacker_gets_through_or_learns_that_a_case_exists(
    make_user: UserFactory, owner: ApiUser, database_url: str, scene: dict[str, Any], backend: str
) -> None:
    tally = Tally()
    for attacker in attackers(make_user, owner, database_url):
        for call_name, template in CALLS.items():
            expected = expected_for(attacker, call_name)
            response = send(
                owner.http, prepared(template, scene["scroll"], CASE_ID), attacker.headers
            )
            tally.attempts += 1
            label = f"{attacker.kind}: {call_name}"
            if response.status_code < 400 and expected >= 400:
                tally.successes.append(f"{label} answered {response.status_code}")
            elif response.status_code != expected:
                tally.wrong.append(f"{label}: {response.status_code}, expected {expected}")
            elif expected >= 400 and response.headers.get("content-type") != PROBLEM_JSON:
                tally.wrong.append(f"{label}: not problem JSON")
            if attacker.column in ("other market", "other tenant") or attacker.kind.endswith(
                "another market"
            ):
                wrong = overreach(
                    call_name, response, market_bound=attacker.column != "other tenant"
                )
                if wrong:
                    tally.successes.append(f"{label}: {wrong}")
            if aims_at_a_case(template) and not (
                attacker.column and expected < 400 and attacker.column == "CaseRead"
            ):
                missing = send(
                    owner.http, prepared(template, scene["scroll"], MISSING_ID), attacker.headers
                )
                tally.attempts += 1
                asked = DELETED_ID if template.needs_deleted_case else CASE_ID
                if comparable(response, asked) != comparable(missing, MISSING_ID):
                    tally.leaks.append(
                        f"{label}: {comparable(response, asked)[:120]} for the case, "
                        f"{comparable(missing, MISSING_ID)[:120]} for a missing one"
                    )
    unchanged = owner.get(f"/api/cases/{CASE_ID}").json() == scene["case"]
    settings_kept = owner.get("/api/cases/settings").json() == scene["settings"]
    search = owner.post("/api/cases/search", json={"IncludeDeleted": True}).json()
    figures.record(
        "access",
        backend,
        attempts=tally.attempts,
        unauthorised_successes=len(tally.successes),
        ids_leaked=len(tally.leaks),
        wrong_status=len(tally.wrong),
    )
    assert tally.successes == [], "\n".join(tally.successes)
    assert tally.leaks == [], "\n".join(tally.leaks)
    assert tally.wrong == [], "\n".join(tally.wrong)
    assert unchanged
    assert settings_kept
    assert search["TotalHits"] == 2


def test_a_deactivated_user_cannot_get_a_new_token(
    make_user: UserFactory, owner: ApiUser, database_url: str
) -> None:
    user = make_user("CaseAdmin")
    deactivate(database_url, user)
    response = owner.http.post(
        "/api/token", params={"clientId": user.client_id, "clientSecret": user.client_secret}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON


def test_a_deactivated_user_is_refused_at_once_on_the_fast_read_path(
    make_user: UserFactory, owner: ApiUser, database_url: str
) -> None:
    owner.create_case(Id=CASE_ID)
    user = make_user("CaseRead")
    assert user.get(f"/api/cases/{CASE_ID}").status_code == 200
    deactivate(database_url, user)
    assert user.get(f"/api/cases/{CASE_ID}").status_code == 401
    assert user.post("/api/cases/search", json={}).status_code == 401


def test_an_expired_token_says_so(owner: ApiUser) -> None:
    now = int(time.time())
    claims = {**_claims(owner.token), "iat": now - 7200, "exp": now - 1}
    response = owner.http.get(
        "/api/cases/settings", headers=bearer(jwt.encode(claims, SECRET_KEY, algorithm="HS256"))
    )
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
