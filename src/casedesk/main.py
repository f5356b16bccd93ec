"""The application: built by create_app(settings), never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from sqlalchemy.engine import make_url

from casedesk.auth import keys, passwords
from casedesk.auth.routes import router as auth_router
from casedesk.case_settings.routes import router as settings_router
from casedesk.cases.batch_routes import router as batch_router
from casedesk.cases.routes import router as cases_router
from casedesk.cases.scroll_routes import router as scroll_router
from casedesk.config import Settings, database_backend
from casedesk.http import problems
from casedesk.http.guards import BodySizeLimit, TimeLimit
from casedesk.http.headers import SecurityHeaders, add_cors
from casedesk.http.request_log import RequestLog
from casedesk.http.swagger import routes as swagger
from casedesk.http.wire import storable_parameters
from casedesk.idempotency.middleware import install as install_idempotency
from casedesk.ratelimit.middleware import install as install_rate_limits
from casedesk.storage import sqlite_checkpoint
from casedesk.storage.database import Database
from casedesk.storage.fastread import fast_reader

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
        db = Database.connect(
            settings.database_url, search_timeout_s=settings.search_timeout_seconds
        )
        async with db.writers() as session, session.begin():
            app.state.signing_keys = await keys.load(
                session, configured=settings.secret_key, previous=settings.previous_secret_key
            )
        app.state.db = db
        app.state.secret_verifier = passwords.Verifier(settings.secret_verifications)
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
    swagger.install(app)

    @app.get("/health", tags=["Operations"], summary="Liveness: no auth, no database")
    async def health() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    problems.index_routes(app)
    install_idempotency(app, settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    _add_openapi(app)
    install_rate_limits(app, settings)
    # Added last, so outermost: they see every answer, those of the guards above included.
    app.add_middleware(TimeLimit, seconds=settings.request_timeout_seconds)
    add_cors(app, settings.cors_origins)
    app.add_middleware(RequestLog)
    app.add_middleware(
        SecurityHeaders,
        swagger_path=swagger.PAGE,
        swagger_csp=swagger.CSP,
        hsts=settings.hsts,
    )
    return app


def _background_checkpoints(url: str) -> AbstractAsyncContextManager[None]:
    if database_backend(url) != "sqlite":
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
                    _parameters_without_null(operation)
                    if path.startswith("/api/") and path not in PUBLIC_PATHS:
                        operation["security"] = [{name: []} for name in BEARER]
            _add_case_links(document["paths"])
            components = document.setdefault("components", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.get("schemas", {}).pop(unused, None)
            components["securitySchemes"] = BEARER
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# Every answer that is one whole case, and the status it answers with.
_CASE_ANSWERS = (
    ("post", "/api/cases", "201"),
    ("get", "/api/cases/{id}", "200"),
    ("put", "/api/cases", "200"),
    ("patch", "/api/cases", "200"),
    ("post", "/api/cases/{id}/assignto", "200"),
    ("post", "/api/cases/{id}/changestatus", "200"),
    ("post", "/api/cases/{id}/comments", "201"),
    ("post", "/api/cases/{id}/restore", "200"),
    ("delete", "/api/cases/{id}", "200"),
)
_CASE_ID = "$response.body#/Id"
_CURRENT_TAG = {"header.If-Match": "$response.header.ETag"}
# What a client can do next with a case it was just given: (name, method, path, by path id).
_NEXT_STEPS = (
    ("GetCase", "get", "/api/cases/{id}", True),
    ("ReplaceCase", "put", "/api/cases", False),
    ("PatchCase", "patch", "/api/cases", False),
    ("AssignCase", "post", "/api/cases/{id}/assignto", True),
    ("ChangeStatus", "post", "/api/cases/{id}/changestatus", True),
    ("AddComment", "post", "/api/cases/{id}/comments", True),
    ("DeleteCase", "delete", "/api/cases/{id}", True),
    ("RestoreCase", "post", "/api/cases/{id}/restore", True),
)


def _add_case_links(paths: dict[str, Any]) -> None:
    """OpenAPI links from every answer carrying a case to what can follow it (its Id, and its
    ETag as If-Match), so generated clients and stateful testers can chain the calls. A
    soft-deleted case can only be read (404) or restored."""
    for method, path, status in _CASE_ANSWERS:
        links: dict[str, Any] = {}
        for name, target_method, target_path, by_path in _NEXT_STEPS:
            deleted_only = name == "RestoreCase"
            if name != "GetCase" and deleted_only != (method == "delete"):
                continue
            link: dict[str, Any] = {"operationId": paths[target_path][target_method]["operationId"]}
            if by_path:
                link["parameters"] = {"path.id": _CASE_ID}
            else:
                link["requestBody"] = {"Id": _CASE_ID}
            if target_method != "get":
                link["parameters"] = {**link.get("parameters", {}), **_CURRENT_TAG}
            links[name] = link
        paths[path][method]["responses"][status]["links"] = links


def _parameters_without_null(operation: dict[str, Any]) -> None:
    """An optional parameter (`str | None`) is absent when left out: its `null` branch goes, or
    clients and fuzzers send the text "null" (If-Match: null is a malformed If-Match)."""
    for parameter in operation.get("parameters", []):
        schema = parameter["schema"]
        branches = [branch for branch in schema.get("anyOf", ()) if branch != {"type": "null"}]
        if "anyOf" in schema and len(branches) == 1:
            del schema["anyOf"]
            schema.update(branches[0])


def _document_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    statuses = [413, 415] if "requestBody" in operation else []
    # FastAPI's own 422 stands for validation, which is a 400 here; a 422 a route declares
    # (Idempotency-Key reused) stays.
    if "HTTPValidationError" in str(responses.get("422")):
        del responses["422"]
        statuses.append(400)
    for status, entry in problems.problem_responses(*statuses).items():
        entry.pop("model")
        responses.setdefault(str(status), entry)
    for code, response in responses.items():
        content = response.get("content", {})
        if code[:1] in ("4", "5") and problems.PROBLEM_JSON in content:
            content.pop("application/json", None)


def app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker process."""
    return create_app(Settings.from_env())
