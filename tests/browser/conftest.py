"""Browser tier fixtures: a real server with the demo-like data, Chromium, a fresh page.

Run with ``pytest -m browser``; every test module here sets
``pytestmark = pytest.mark.browser``. ``server`` (once per session) is a uvicorn subprocess
on a free port (tests/support/server.py); ``browser`` is Debian's Chromium driven by Playwright's
sync API; ``page`` is a new browser context (no cookies) whose relative URLs go to the
server. Helpers: tests/support/browser.py (sign_in, screenshot) and tests/support/axe.py
(check_accessibility).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import chromium_missing, launch
from tests.support.server import RunningServer, running_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("browser-server")) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: RunningServer) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900},
                                  locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
