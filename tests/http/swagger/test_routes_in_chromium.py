"""Swagger UI at /swagger as a person sees it: in Chromium, against a real casedesk serve.

Its own module: the browser's event loop must not meet the rest of the suite's asyncio.run()
(tests/browser/fixtures.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2 as httpx
import pytest

from tests.browser import axe
from tests.browser.fixtures import Served, WatchedPage

pytestmark = pytest.mark.browser

DOCUMENT = "/swagger/v1/swagger.json"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

# Swagger UI's own markup, which the page cannot change; each rule still holds everywhere else.
SWAGGER_UI_MARKUP = (
    axe.Known(
        "heading-order",
        ".opblock-tag",
        "Swagger UI heads each tag with an <h3> straight under the document title's <h1>",
    ),
    axe.Known(
        "region",
        ".information-container",
        "Swagger UI's own <main> holds the operations only, so the title and description above "
        "them are outside any landmark; wrapping them would nest its <main> in a landmark",
    ),
    axe.Known(
        "landmark-unique",
        ".responses-table",
        "Swagger UI makes every responses table a region (role, aria-live) without a name",
    ),
    axe.Known(
        "scrollable-region-focusable",
        ".highlight-code > .microlight",
        "Swagger UI's example bodies scroll sideways but cannot take keyboard focus",
    ),
    axe.Known(
        "label",
        ".body-param__text",
        "Swagger UI's request body editor (a <textarea>) has no label",
    ),
    axe.Known(
        "select-name",
        ".examples-select-element",
        "Swagger UI labels its examples <select> with a <span>, not a <label>",
    ),
)


def operations_in(document: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(METHOD, path) of every operation, once per tag: Swagger UI lists an operation under
    each of its tags."""
    return Counter(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for _tag in operation.get("tags") or ["default"]
    )


def open_swagger(watched: WatchedPage, served: Served) -> Counter[tuple[str, str]]:
    """Load /swagger and wait until it shows its operations, or says why it cannot; the
    (METHOD, path) of every operation shown."""
    page = watched.page
    page.goto(f"{served.base}/swagger")
    page.wait_for_selector(".swagger-ui .opblock, .swagger-ui .version-pragma", timeout=20_000)
    page.wait_for_load_state("networkidle")
    shown: list[list[str]] = page.eval_on_selector_all(
        ".swagger-ui .opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent,
            block.querySelector('.opblock-summary-path').dataset.path,
        ])""",
    )
    return Counter((method, path) for method, path in shown)


def try_health(watched: WatchedPage) -> str:
    """Open GET /health, press Try it out and Execute; the status code Swagger UI shows."""
    health = watched.page.locator("#operations-Operations-health_health_get")
    health.locator(".opblock-summary-control").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    status = health.locator(".live-responses-table .response .response-col_status")
    return status.inner_text().strip()


def test_swagger_ui_shows_every_operation_of_the_document(
    served: Served, browser_page: WatchedPage
) -> None:
    document = httpx.get(f"{served.base}{DOCUMENT}").json()
    expected = operations_in(document)
    assert len(expected) > 10

    shown = open_swagger(browser_page, served)

    refusal = browser_page.page.locator(".version-pragma")
    assert refusal.count() == 0, refusal.first.inner_text()
    assert shown == expected
    browser_page.watch.assert_clean()


def test_an_operation_can_be_tried_from_the_swagger_page(
    served: Served, browser_page: WatchedPage
) -> None:
    open_swagger(browser_page, served)
    assert try_health(browser_page) == "200"
    browser_page.watch.assert_clean()


def test_the_swagger_page_has_no_accessibility_violations(
    served: Served, browser_page: WatchedPage
) -> None:
    open_swagger(browser_page, served)
    found = axe.violations(browser_page.page, known=SWAGGER_UI_MARKUP)
    assert not found, axe.describe(found)


def test_an_opened_operation_has_no_accessibility_violations(
    served: Served, browser_page: WatchedPage
) -> None:
    open_swagger(browser_page, served)
    try_health(browser_page)
    create = browser_page.page.locator("#operations-Cases-create_case_api_cases_post")
    create.locator(".opblock-summary-control").click()
    create.get_by_role("button", name="Try it out").click()
    create.get_by_role("button", name="Execute").wait_for()
    found = axe.violations(browser_page.page, known=SWAGGER_UI_MARKUP)
    assert not found, axe.describe(found)
