"""Everything a page complained about while a test drove it."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import ConsoleMessage, Page, Request, Response


@dataclass
class PageWatch:
    """Collects console errors, uncaught exceptions, failed requests and error answers
    (4xx/5xx, a missing favicon included) from the moment it is attached."""

    problems: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, page: Page) -> PageWatch:
        watch = cls()
        page.on("console", watch._console)
        page.on("pageerror", lambda error: watch.problems.append(f"page error: {error}"))
        page.on("requestfailed", watch._request_failed)
        page.on("response", watch._response)
        return watch

    def assert_clean(self) -> None:
        assert not self.problems, "the page complained:\n" + "\n".join(self.problems)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text} ({message.location})")

    def _request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            request = response.request
            self.problems.append(f"answer {response.status}: {request.method} {request.url}")
