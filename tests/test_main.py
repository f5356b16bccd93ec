"""The application shell: health, Swagger UI served offline, nothing built at import."""

from __future__ import annotations

import re
import subprocess
import sys

from fastapi.testclient import TestClient


def test_health_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_swagger_serves_html_pointing_at_the_document(client: TestClient) -> None:
    response = client.get("/swagger")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/swagger/v1/swagger.json" in response.text


def test_swagger_loads_its_scripts_and_styles_from_this_server(client: TestClient) -> None:
    html = client.get("/swagger").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    assert all(asset.startswith("/swagger/assets/") for asset in assets), assets
    assert "//" not in " ".join(assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset


def test_the_swagger_bundle_script_is_javascript(client: TestClient) -> None:
    response = client.get("/swagger/assets/swagger-ui-bundle.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]


def test_a_missing_swagger_asset_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/swagger/assets/nothing.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_importing_the_app_builds_no_engine_or_settings() -> None:
    probe = (
        "import casedesk.main, casedesk.cli, sqlalchemy.ext.asyncio as a, sys;"
        "import gc;"
        "engines = [o for o in gc.get_objects() if isinstance(o, a.AsyncEngine)];"
        "sys.exit(len(engines))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
