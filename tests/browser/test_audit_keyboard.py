"""The audit log by keyboard: every entry's detail is reached with Tab and opened with Enter,
and the page passes axe (WCAG 2.2 AA)."""

from __future__ import annotations

from typing import Any

import pytest

from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in
from tests.support.demo_like import email_for

pytestmark = pytest.mark.browser

AUDIT = "/places/northbrook/audit"


def test_audit_detail_is_reached_and_opened_by_keyboard(page: Any) -> None:
    sign_in(page, email_for(Role.ADMIN))
    page.goto(AUDIT + "?action=role")
    check_accessibility(page, "audit log")
    first = page.locator("table details").first
    assert first.count() == 1 and first.get_attribute("open") is None
    page.locator("#actor").focus()  # start from the filter, then only the keyboard
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.tagName") == "SUMMARY":
            break
    assert page.evaluate("() => document.activeElement.closest('table') !== null"), \
        "Tab never reached an entry's detail"
    page.keyboard.press("Enter")
    assert first.get_attribute("open") is not None
    assert first.locator(".govuk-details__text").is_visible()
    assert "to:" in first.locator(".govuk-details__text").inner_text()
    check_accessibility(page, "audit log with a detail open")
    screenshot(page, "audit-log-detail-open")
