"""Access tokens: HS256 JWTs with an expiry, verified against a fixed algorithm allowlist."""

from __future__ import annotations

import calendar
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import jwt

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
    issued = calendar.timegm(now.utctimetuple())
    payload = {
        "sub": client_id,
        "tid": tenant_id,
        "iat": issued,
        "exp": issued + lifetime_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def verify(key: str, token: str) -> TokenClaims:
    claims, expires = _verified(key, token)
    if expires <= time.time():
        raise NotAuthenticated("The access token has expired.")
    return claims


@lru_cache(maxsize=4096)
def _verified(key: str, token: str) -> tuple[TokenClaims, int]:
    """The checked claims and expiry of a token; a signature checked once stays checked, so
    clients that reuse their token pay for the check once."""
    try:
        payload = jwt.decode(token, key, algorithms=_ALLOWED, options={"require": _REQUIRED})
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The access token has expired.") from None
    except jwt.PyJWTError:
        raise NotAuthenticated("The access token is not valid.") from None
    client_id, tenant_id = payload["sub"], payload["tid"]
    # bool is an int in Python, but JSON `true` is no tenant id.
    if not isinstance(client_id, str) or type(tenant_id) is not int:
        raise NotAuthenticated("The access token is not valid.")
    return TokenClaims(client_id=client_id, tenant_id=tenant_id), int(payload["exp"])
