from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from casedesk.auth import service
from casedesk.http.problems import problem_responses
from casedesk.storage.database import ReadSession

router = APIRouter(tags=["Authentication"])


@router.post(
    "/api/token",
    summary="Get an access token",
    description=(
        "Exchanges an API user's client id and secret for a JWT. The token comes back as a "
        "plain string, or as `{accessToken, tokenType, expiresIn}` with `returnAsJson=true`. "
        "Send it as `Authorization: Bearer <token>`."
    ),
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The token",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "accessToken": {"type": "string"},
                            "tokenType": {"type": "string", "example": "Bearer"},
                            "expiresIn": {"type": "integer", "example": 864000},
                        },
                    }
                },
            },
        },
        **problem_responses(400, 401, 503),
    },
)
async def token(
    request: Request,
    session: ReadSession,
    client_id: Annotated[str, Query(alias="clientId", min_length=1, max_length=100)],
    client_secret: Annotated[str, Query(alias="clientSecret", min_length=1, max_length=200)],
    return_as_json: Annotated[bool, Query(alias="returnAsJson")] = False,
) -> Response:
    lifetime = request.app.state.settings.token_lifetime_seconds
    access_token = await service.issue_token(
        session,
        client_id=client_id,
        client_secret=client_secret,
        key=request.app.state.signing_keys.current,
        lifetime_seconds=lifetime,
        verifier=request.app.state.secret_verifier,
    )
    if return_as_json:
        return JSONResponse(
            {"accessToken": access_token, "tokenType": "Bearer", "expiresIn": lifetime}
        )
    return PlainTextResponse(access_token)
