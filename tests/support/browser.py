"""Helpers for browser tests (Playwright's sync API driving Debian's Chromium).

Fixtures live in tests/browser/conftest.py (``server``, ``browser``, ``page``); these are
the plain functions behind them, for any area's browser tests:

- ``launch(playwright)``: Chromium from /usr/bin/chromium (never ``playwright install``);
- ``sign_in(page, email)``: through the sign-in form, as a person would;
- ``submit(page, control)``: click a button or link that loads a page, and wait for that page;
- ``screenshot(page, name)``: a full-page PNG in test-results/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from tests.support.demo_like import DEMO_PASSWORD

CHROMIUM = os.environ.get("JOINEDUP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def chromium_missing() -> str | None:
    """Why the browser tier cannot run here, or None."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return (f"Chromium not found at {CHROMIUM}: install Debian's chromium "
                "(apt-get install chromium) or set JOINEDUP_CHROMIUM")
    return None


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def sign_in(page: Any, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/sign-in" in page.url:
        raise AssertionError(f"could not sign in as {email}")


def submit(page: Any, control: Any, timeout: float = 60_000) -> None:
    """Click ``control`` and wait until the page it leads to has loaded.

    A bare click returns once it is dispatched; a count, ``is_visible`` or URL read straight
    after it can read the page being left (CI once counted 0 errors on a page that showed 1).
    """
    with page.expect_navigation(timeout=timeout):
        control.click()
    page.wait_for_load_state()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path
