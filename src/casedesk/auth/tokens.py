"""Access tokens: HS256 JWTs with an expiry, verified against a fixed algorithm allowlist."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt

from casedesk.errors import NotAuthenticated

ALGORITHM = "HS256"
_ALLOWED = [ALGORITHM]
_REQUIRED = ["exp", "iat", "sub", "tid"]


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    tenant_id: int


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
    return TokenClaims(client_id=client_id, tenant_id=tenant_id)
