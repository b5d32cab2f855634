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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Keep each phase's report on the test, so the page fixture knows whether the test failed.
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, "report_" + report.when, report)


@pytest.fixture
def page(browser: Any, server: RunningServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900},
                                  locale="en-GB")
    # A wait, not a speed claim: a CI machine running every tier at once can take seconds
    # over a page that takes a fraction of one here.
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _explain_failure(page, server)
    context.close()


def _explain_failure(page: Any, server: RunningServer) -> None:
    """Print what the browser was showing and the end of the server's log: on a CI machine
    these are all there is to tell a slow page from an error page."""
    try:
        heading = page.locator("h1").first.inner_text(timeout=2_000)
    except Exception as exc:  # noqa: BLE001 - a diagnostic must not hide the real failure
        heading = f"(no h1: {type(exc).__name__})"
    print(f"\n--- browser at failure: {page.url}\n--- title: {page.title()}\n--- h1: {heading}")
    log = server.log.read_text(errors="replace") if server.log.exists() else ""
    print("--- end of server.log:\n" + (log[-3000:] or "(empty)"))
