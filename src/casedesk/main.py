"""The application: built by create_app(settings), never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

import swagger_ui_bundle
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url

from casedesk import problems, sqlite_checkpoint
from casedesk.auth import service as auth_service
from casedesk.auth.routes import router as auth_router
from casedesk.case_settings.routes import router as settings_router
from casedesk.cases.batch_routes import router as batch_router
from casedesk.cases.routes import router as cases_router
from casedesk.cases.scroll_routes import router as scroll_router
from casedesk.config import Settings
from casedesk.db import Database, backend_of
from casedesk.fastread import fast_reader
from casedesk.limits import BodySizeLimit
from casedesk.wire import storable_parameters

DESCRIPTION = """
casedesk speaks the Omnium Cases API: create, search, update, assign, change the status of
and delete customer cases. Get a token from `POST /api/token` with your client id and
secret, then send it as `Authorization: Bearer <token>`.

Beyond Omnium: notes (`/comments`), restore of soft-deleted cases, per-tenant case settings,
and optimistic concurrency (`ETag` / `If-Match`, 412 on a stale tag).
"""


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.connect(settings.database_url)
        async with db.writers() as session, session.begin():
            app.state.signing_key = await auth_service.signing_key(
                session, configured=settings.secret_key
            )
        app.state.db = db
        app.state.fast_reader = fast_reader(settings.database_url)
        try:
            async with _background_checkpoints(settings.database_url):
                yield
        finally:
            await app.state.fast_reader.close()
            await db.dispose()

    app = FastAPI(
        title="casedesk: Omnium Cases API",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/swagger/v1/swagger.json",
        dependencies=[Depends(storable_parameters)],
    )
    app.state.settings = settings
    problems.install(app)
    app.include_router(auth_router)
    app.include_router(settings_router)
    app.include_router(batch_router)
    app.include_router(cases_router)
    app.include_router(scroll_router)
    _add_docs(app)

    @app.get("/health", tags=["Operations"], summary="Liveness: no auth, no database")
    async def health() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    _add_openapi(app)
    return app


def _background_checkpoints(url: str) -> AbstractAsyncContextManager[None]:
    if backend_of(url) != "sqlite":
        return nullcontext()
    return sqlite_checkpoint.checkpoints(make_url(url).database or "")


BEARER = {"Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
PUBLIC_PATHS = frozenset({"/api/token", "/health"})


def _add_openapi(app: FastAPI) -> None:
    """The document FastAPI generates, told the truth: validation is a 400 problem (never
    FastAPI's 422), errors are application/problem+json only, and /api needs a Bearer token."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in document["paths"].items():
                for operation in operations.values():
                    _document_problems(operation)
                    if path.startswith("/api/") and path not in PUBLIC_PATHS:
                        operation["security"] = [{name: []} for name in BEARER]
            components = document.setdefault("components", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.get("schemas", {}).pop(unused, None)
            components["securitySchemes"] = BEARER
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    statuses = [413, 415] if "requestBody" in operation else []
    if responses.pop("422", None) is not None:
        statuses.append(400)
    for status, entry in problems.problem_responses(*statuses).items():
        entry.pop("model")
        responses.setdefault(str(status), entry)
    for code, response in responses.items():
        content = response.get("content", {})
        if code[:1] in ("4", "5") and problems.PROBLEM_JSON in content:
            content.pop("application/json", None)


def _add_docs(app: FastAPI) -> None:
    """Swagger UI at /swagger, served from the installed bundle so it works offline."""
    app.mount(
        "/swagger/assets",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-assets",
    )

    @app.get("/swagger", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "",
            title=app.title,
            swagger_js_url="/swagger/assets/swagger-ui-bundle.js",
            swagger_css_url="/swagger/assets/swagger-ui.css",
            swagger_favicon_url="/swagger/assets/favicon-32x32.png",
        )


def app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker process."""
    return create_app(Settings.from_env())
