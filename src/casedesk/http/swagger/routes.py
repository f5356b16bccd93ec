"""The Swagger UI page and its assets, served from the package so /swagger works offline."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

PAGE = "/swagger"
ASSETS = "/swagger/assets"
ASSETS_DIRECTORY = Path(__file__).parent / "assets"

# Scripts and styles from this server only: the page has no inline script (the start-up script
# is assets/swagger-initializer.js) and no inline style. Swagger UI sets styles through the DOM
# (element.style), which CSP does not govern. No 'unsafe-eval': the bundle's only Function(…)
# calls are fallbacks for browsers without globalThis. data: images are Swagger UI's icons.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="stylesheet" href="{assets}/casedesk.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-initializer.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """GET /swagger (the page, rendered once) and /swagger/assets (Swagger UI's files)."""
    page = _PAGE.format(
        title=escape(app.title),
        assets=ASSETS,
        openapi_url=escape(app.openapi_url or ""),
    )
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIRECTORY), name="swagger-assets")

    @app.get(PAGE, include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return HTMLResponse(page)
