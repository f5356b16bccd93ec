"""Swagger UI at /swagger, by its bytes: served offline from the package, no inline script.
How it works in a browser: test_routes_in_chromium.py."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

DOCUMENT = "/swagger/v1/swagger.json"


def test_swagger_serves_html_pointing_at_the_document(client: TestClient) -> None:
    response = client.get("/swagger")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'data-openapi-url="{DOCUMENT}"' in response.text


def test_swagger_loads_its_scripts_and_styles_from_this_server(client: TestClient) -> None:
    html = client.get("/swagger").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) == 5, html
    assert all(asset.startswith("/swagger/assets/") for asset in assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset


def test_the_swagger_page_has_no_inline_script(client: TestClient) -> None:
    html = client.get("/swagger").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts == [
        (' src="/swagger/assets/swagger-ui-bundle.js"', ""),
        (' src="/swagger/assets/swagger-initializer.js"', ""),
    ]
    assert "<style" not in html
    assert "style=" not in html


def test_the_swagger_bundle_script_is_javascript(client: TestClient) -> None:
    response = client.get("/swagger/assets/swagger-ui-bundle.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]


def test_a_missing_swagger_asset_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/swagger/assets/nothing.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
