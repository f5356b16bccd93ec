"""Idempotency keys as pure rules: what a key may be, when two requests are the same request,
and what a stored key means for a request that arrives with it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import parse_qsl, urlencode

from casedesk.errors import InvalidInput
from casedesk.idempotency.models import KEY_MAX, IdempotencyKeyRow

HEADER = "Idempotency-Key"
# Printable ASCII, inner spaces included (RFC 9110 field values; what Stripe and the IETF draft
# allow), but no space at either end: servers strip those, so "a " would arrive as "a".
_KEY = re.compile(rb"[\x21-\x7e]([\x20-\x7e]{0,%d}[\x21-\x7e])?" % (KEY_MAX - 2))
# The shortest time a claimed key stays "in progress" before a retry may take it over.
MIN_CLAIM_LEASE = timedelta(seconds=60)


class Verdict(Enum):
    CLAIM = "claim"  # unknown or expired: this request does the work
    TAKE_OVER = "take over"  # claimed by a request whose lease ran out: this one does it
    REPLAY = "replay"  # done: answer what the first request answered
    IN_FLIGHT = "in flight"  # the first request is still working: 409
    REUSED = "reused"  # the key belongs to a different request: 422


def claim_lease(request_timeout_seconds: float) -> timedelta:
    """How long a claim holds its key: twice the request time limit, and at least a minute. A
    request that has not committed by then has been cancelled, or its server has died."""
    return max(MIN_CLAIM_LEASE, timedelta(seconds=2 * request_timeout_seconds))


def parse_key(values: Sequence[bytes]) -> str:
    """The key from the header's raw values: exactly one, 1-255 printable ASCII characters,
    neither starting nor ending with a space."""
    if len(values) != 1:
        raise InvalidInput({HEADER: ["Send one Idempotency-Key header, not several."]})
    (raw,) = values
    if not _KEY.fullmatch(raw):
        raise InvalidInput(
            {
                HEADER: [
                    f"An Idempotency-Key is 1-{KEY_MAX} printable ASCII characters, "
                    "not starting or ending with a space."
                ]
            }
        )
    return raw.decode("ascii")


def fingerprint(*, method: str, path: str, query: bytes, if_match: bytes, body: bytes) -> str:
    """What makes two requests with one key the same request: method, path, query parameters
    (in any order), If-Match and body, byte for byte. Each part is length-prefixed, so no two
    requests share a text."""
    # The parameters as the route reads them (Starlette parses the query just so).
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    parameters = urlencode(sorted(pairs)).encode()
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), parameters, if_match, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def judge(stored: IdempotencyKeyRow | None, *, fingerprint: str, now: datetime) -> Verdict:
    if stored is None or stored.expires <= now:
        return Verdict.CLAIM
    if stored.fingerprint != fingerprint:
        return Verdict.REUSED
    if stored.status_code is not None:
        return Verdict.REPLAY
    if stored.lease_until > now:
        return Verdict.IN_FLIGHT
    return Verdict.TAKE_OVER
