"""An administrator creates a place, adds a partner (meeting the "name already exists" error on
the way) and a service, and retires the partner; every new page passes axe and does not
scroll sideways at 320 px."""

from __future__ import annotations

from typing import Any

import pytest

from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, submit
from tests.support.demo_like import email_for

pytestmark = pytest.mark.browser

OVERFLOWS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def _checked(page: Any, where: str) -> None:
    """axe at full width, then the same page at 320 px: no sideways scrolling, and axe again."""
    check_accessibility(page, where)
    page.set_viewport_size({"width": 320, "height": 700})
    try:
        assert not page.evaluate(OVERFLOWS), f"{where} scrolls sideways at 320 px"
        check_accessibility(page, f"{where} at 320 px")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_an_administrator_sets_up_a_place(page: Any) -> None:
    sign_in(page, email_for(Role.ADMIN))
    submit(page, page.get_by_role("link", name="Create a place"))
    assert page.url.endswith("/places/new")
    _checked(page, "create a place")
    page.get_by_label("Name of the place").fill("Lowmoor")
    page.get_by_label("Short name (optional)").fill("lowmoor-journey")
    page.get_by_label("Adult population (optional)").fill("45,000")
    submit(page, page.get_by_role("button", name="Create place"))
    assert page.url.endswith("/places/lowmoor-journey/partners")
    assert "Lowmoor is set up" in page.locator(".govuk-notification-banner").inner_text()
    _checked(page, "an empty partners page")

    page.get_by_role("button", name="Add a partner").click()
    _checked(page, "add a partner")
    page.get_by_label("Name of the organisation").fill("Lowmoor District Council")
    page.get_by_label("Local government").check()
    page.get_by_role("button", name="Add partner").click()
    assert "Lowmoor District Council added" in page.locator(".govuk-notification-banner").inner_text()
    _checked(page, "a partner's page")

    # The same name again, in another case: the GOV.UK error pattern, and nothing saved.
    page.goto("/places/lowmoor-journey/partners/add")
    page.get_by_label("Name of the organisation").fill("LOWMOOR DISTRICT COUNCIL")
    page.get_by_label("Housing").check()
    page.get_by_role("button", name="Add partner").click()
    summary = page.locator(".govuk-error-summary")
    assert "already has a partner called Lowmoor District Council" in summary.inner_text()
    assert page.title().startswith("Error: ")
    _checked(page, "add a partner with an error")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "name"

    page.goto("/places/lowmoor-journey/partners")
    assert page.locator("table").inner_text().count("Lowmoor District Council") == 1
    page.get_by_role("link", name="Lowmoor District Council").click()
    page.get_by_role("button", name="Add a service").click()
    _checked(page, "add a service")
    page.get_by_label("Name of the service").fill("Housing options")
    page.get_by_label("What it does (optional)").fill("Advice for people at risk of losing their home")
    page.get_by_role("button", name="Add service").click()
    assert "Housing options added to Lowmoor District Council" in page.inner_text("main")
    page.goto("/places/lowmoor-journey/services")
    _checked(page, "the services page")
    assert "Housing options" in page.inner_text("main")

    page.get_by_role("link", name="Lowmoor District Council").click()
    page.get_by_role("button", name="Retire Lowmoor District Council").click()
    _checked(page, "retire a partner")
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Continue").click()
    assert "is retired" in page.locator(".govuk-notification-banner").inner_text()
    assert page.locator("h1 .govuk-tag").inner_text().strip().lower() == "retired"
    _checked(page, "a retired partner's page")
    page.goto("/places/lowmoor-journey/partners/import")
    _checked(page, "import partners")
    screenshot(page, "registry-import")
