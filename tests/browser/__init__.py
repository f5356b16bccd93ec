"""Pages tested the way a person sees them: Chromium (Debian's, driven by Playwright) against a
real `casedesk serve`. The fixtures (fixtures.py) are loaded for the whole suite by
tests/conftest.py; watch.py fails a test on any console error, page error or failed request;
axe.py runs axe-core on a page."""
