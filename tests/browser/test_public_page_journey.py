"""Issue 11's public page in a browser: a lead publishes it by keyboard alone, and then anyone,
with no cookies, reads it; it passes axe (WCAG 2.2 AA) and does not scroll sideways at 320 px."""

from __future__ import annotations

from typing import Any

import pytest

from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in
from tests.support.demo_like import email_for
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

SETTING = "/places/northbrook/public-page"


def test_a_lead_publishes_by_keyboard_and_anyone_reads_it(
        page: Any, browser: Any, server: RunningServer) -> None:
    sign_in(page, email_for(Role.LEAD))
    page.goto(SETTING)
    check_accessibility(page, "public page setting")
    page.locator("#enabled").focus()  # "Yes, publish it": from here on, only the keyboard
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "contact_email"
    page.keyboard.type("together@northbrook.example")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "privacy_notice"
    page.keyboard.type("We use records the partners share. Ask us for a copy.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.tagName") == "BUTTON"
    page.keyboard.press("Enter")
    page.wait_for_url("**/public-page?saved=1")
    assert "Public page saved" in page.content()

    anyone = browser.new_context(base_url=server.url, viewport={"width": 320, "height": 800},
                                 locale="en-GB", java_script_enabled=False)
    try:
        public = anyone.new_page()
        response = public.goto("/public/northbrook")
        assert response is not None and response.status == 200
        assert "State of collaboration" in public.content()
        width, client = public.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width <= client, f"the public page scrolls sideways at 320 px ({width} > {client})"
        screenshot(public, "public-page-320")
    finally:
        anyone.close()
    # axe needs script: the same page, again without cookies, with JavaScript on.
    checked = browser.new_context(base_url=server.url, viewport={"width": 320, "height": 800},
                                  locale="en-GB")
    try:
        public = checked.new_page()
        for path in ("/public/northbrook", "/public/northbrook/privacy",
                     "/public/northbrook/accessibility"):
            public.goto(path)
            check_accessibility(public, path)
    finally:
        checked.close()
