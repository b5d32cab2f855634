"""Pages work with JavaScript off: a lead edits partners (whose fields GOV.UK reveals with
JavaScript) and outcome measures, and a viewer reads the charter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from joinedup.places.roles import Role
from tests.support.browser import screenshot, sign_in, submit
from tests.support.demo_like import email_for
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

C = "/places/northbrook/collaborations/northbrook-domestic-abuse-partnership"


@pytest.fixture
def no_js_page(browser: Any, server: RunningServer) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, java_script_enabled=False,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_a_lead_edits_partners_and_measures_without_javascript(no_js_page: Any) -> None:
    page = no_js_page
    sign_in(page, email_for(Role.LEAD))
    page.goto(C + "/edit/partners")
    # Without JavaScript every partner's questions are shown, not hidden behind the checkbox.
    offer = page.get_by_label("What does Jobcentre Plus Northbrook offer?")
    assert offer.is_visible()
    page.get_by_label("Jobcentre Plus Northbrook is taking part").check()
    offer.fill("A work coach at the refuge once a week")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Partners: what each offers and gives up saved" in page.inner_text("main")
    assert "A work coach at the refuge once a week" in page.inner_text("main")

    page.goto(C + "/edit/measures")
    page.get_by_role("group", name="Add an outcome measure").get_by_label("Name").fill("Repeat incidents")
    submit(page, page.get_by_role("button", name="Save", exact=True))
    assert page.locator(".govuk-error-summary").is_visible()
    assert "Enter the baseline of measure 2" in page.inner_text(".govuk-error-summary")
    screenshot(page, "no-javascript-measures-error")
    group = page.get_by_role("group", name="Outcome measure 2")
    group.get_by_label("Baseline").fill("31")
    group.get_by_label("Target").fill("20")
    group.get_by_label("Day").fill("30")
    group.get_by_label("Month").fill("6")
    group.get_by_label("Year").fill("2027")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Repeat incidents" in page.inner_text("main")
    screenshot(page, "no-javascript-charter")
