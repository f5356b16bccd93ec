"""Access tokens: HS256 JWTs with an expiry, verified against a fixed algorithm allowlist,
with the current signing key or one still in its grace period after a rotation."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt

from casedesk import clock
from casedesk.errors import NotAuthenticated

ALGORITHM = "HS256"
_ALLOWED = [ALGORITHM]
_REQUIRED = ["exp", "iat", "sub", "tid"]


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    tenant_id: int


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def issue(key: str, *, client_id: str, tenant_id: int, now: datetime, lifetime_seconds: int) -> str:
    issued = clock.epoch_seconds(now)
    payload = {
        "sub": client_id,
        "tid": tenant_id,
        "iat": issued,
        "exp": issued + lifetime_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM)


@dataclass(frozen=True)
class RetiringKey:
    """A key replaced by a rotation: it still verifies tokens until `until` (epoch seconds)."""

    key: str
    until: float


@dataclass(frozen=True, eq=False)
class SigningKeys:
    """The key new tokens are signed with, and the keys before it still in their grace period.
    Compared by identity, which keeps the verification cache's lookup as cheap as for a plain
    string key; a process loads one at start."""

    current: str
    retiring: tuple[RetiringKey, ...] = ()


def verify(keys: SigningKeys, token: str, now: Callable[[], float] = time.time) -> TokenClaims:
    claims, expires, key_until = _verified(keys, token)
    moment = now()
    if expires <= moment:
        raise NotAuthenticated("The access token has expired.")
    if key_until <= moment:
        raise NotAuthenticated("The access token was signed with a retired key: get a new one.")
    return claims


@lru_cache(maxsize=4096)
def _verified(keys: SigningKeys, token: str) -> tuple[TokenClaims, int, float]:
    """The checked claims and expiry of a token, and until when the key that signed it is
    accepted; a signature checked once stays checked, so clients that reuse their token pay
    for the check once. The grace of a retiring key is compared on every call, in verify."""
    try:
        payload, key_until = _decode(token, keys.current), math.inf
    except jwt.InvalidSignatureError:
        payload, key_until = _decode_retiring(token, keys.retiring)
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The access token has expired.") from None
    except jwt.PyJWTError:
        raise NotAuthenticated("The access token is not valid.") from None
    client_id, tenant_id = payload["sub"], payload["tid"]
    # bool is an int in Python, but JSON `true` is no tenant id.
    if not isinstance(client_id, str) or type(tenant_id) is not int:
        raise NotAuthenticated("The access token is not valid.")
    return TokenClaims(client_id=client_id, tenant_id=tenant_id), int(payload["exp"]), key_until


def _decode(token: str, key: str) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(
        token, key, algorithms=_ALLOWED, options={"require": _REQUIRED}
    )
    return payload


def _decode_retiring(token: str, retiring: tuple[RetiringKey, ...]) -> tuple[dict[str, Any], float]:
    for old in retiring:
        try:
            return _decode(token, old.key), old.until
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("The access token has expired.") from None
        except jwt.PyJWTError:
            break
    raise NotAuthenticated("The access token is not valid.")
