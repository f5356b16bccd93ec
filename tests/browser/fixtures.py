"""Fixtures for browser tests: a served casedesk, Debian's Chromium, and a watched page.

Chromium is required: when it is missing the tests fail (they never skip); `make test` and
.ci/run install it first (tools/ensure-chromium).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests import databases
from tests.browser.watch import PageWatch
from tests.servers import running_server

CHROMIUM = Path(os.environ.get("CASEDESK_TEST_CHROMIUM", "/usr/bin/chromium"))
# Debian's Chromium, not Playwright's download (unreachable here). We run as root, so without
# a sandbox; the rest keeps it from calling home or doing work no test asked for.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]


@dataclass(frozen=True)
class Served:
    """A running `casedesk serve` and the database behind it."""

    base: str
    database_url: str


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One `casedesk serve` on 127.0.0.1 (a free port) for the session, on its own SQLite
    database: the pages do not depend on the storage, the storage tests cover both backends."""
    directory = tmp_path_factory.mktemp("browser")
    with (
        databases.fresh_database("sqlite", directory) as url,
        running_server(url, workers=1) as base,
    ):
        yield Served(base, url)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: while Playwright's sync API is open
    its event loop counts as running in this thread, so any asyncio.run() fails (make_user,
    run_in_transaction, the CLI); scoped to the module, that holds only inside browser test
    modules, which therefore set up users and data before the browser starts, or through
    `casedesk` commands."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium is required by the browser tests and {CHROMIUM} is missing: "
            "run tools/ensure-chromium (apt-get install chromium), or point "
            "CASEDESK_TEST_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class WatchedPage:
    page: Page
    watch: PageWatch


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[WatchedPage]:
    """A page in a fresh browser context, watched from its first request; the test fails if
    the page reported any console error, page error or failed request by its end."""
    context = chromium.new_context()
    page = context.new_page()
    watched = WatchedPage(page, PageWatch.attach(page))
    try:
        yield watched
    finally:
        context.close()
    watched.watch.assert_clean()
