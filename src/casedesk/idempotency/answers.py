"""What an idempotent route does: document the Idempotency-Key header, and keep its answer.

The middleware claims the key before the route runs; the route passes its answer through
`keep(...)`, which stores it with the key in the route's own transaction, before the commit,
so that the answer is kept exactly when the work is. A route without a claimed key pays one
dictionary look-up.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.http.problems import problem_responses
from casedesk.idempotency import service
from casedesk.idempotency.models import KEY_MAX
from casedesk.idempotency.rules import HEADER

CLAIM = "casedesk.idempotency.claim"
KEPT = "casedesk.idempotency.kept"
# What a replay repeats besides status and body; the rest (Date, Content-Length) is per answer.
KEPT_HEADERS = ("content-type", "etag", "location")

# For a route's `openapi_extra`: the operations that declare this header are the ones the
# middleware serves, so the document and the behaviour cannot drift apart.
IDEMPOTENT: dict[str, Any] = {
    "parameters": [
        {
            "name": HEADER,
            "in": "header",
            "required": False,
            "description": (
                f"A unique key (1-{KEY_MAX} printable ASCII characters, no space at either "
                "end; e.g. a UUID) that makes a retry safe: a request with a key you already "
                "used answers what the first request answered, with `Idempotent-Replayed: "
                "true`, and does nothing again. "
                "Kept at least 24 hours. The same key with a different request is a 422; while "
                "the first request is still running, a 409."
            ),
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": KEY_MAX,
                "pattern": r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
            },
        }
    ]
}
IDEMPOTENCY_ERRORS = problem_responses(422)
IDEMPOTENCY_ERRORS[422]["description"] = "The Idempotency-Key was used for a different request"


def answer_of(response: Response) -> service.KeptAnswer:
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    return service.KeptAnswer(response.status_code, headers, bytes(response.body))


async def keep(request: Request, session: AsyncSession, response: Response) -> Response:
    """The route's answer, stored with the request's claimed key (if any) in `session`'s
    transaction; raises KeyTakenOver, rolling the work back, if a retry took the key over."""
    claim: service.Claim | None = request.scope.get(CLAIM)
    if claim is not None:
        await service.complete(session, claim=claim, answer=answer_of(response))
        request.scope[KEPT] = True
    return response
