"""An analyst sets up and computes "Fulfilling lives in Northbrook"'s public value account;
a lead opens the collaboration and reads it (comparison group, who pays and who gains,
sensitivity), on a wide screen, at 320 px and in the board's print view; axe checks every
new page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from joinedup.db.session import make_session
from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, sign_out
from tests.support.demo_like import email_for
from tests.support.server import RunningServer, swapped_store
from tests.support.value_place import ACCOUNT, SLUG, build_store

pytestmark = pytest.mark.browser

CHARTER = ACCOUNT.removesuffix("/value")
A4_WIDTH_PX = 794  # 210 mm at 96 px per inch


@pytest.fixture
def programme_place(server: RunningServer, tmp_path: Path) -> Iterator[None]:
    """The server's store replaced by one with the programme (and put back afterwards)."""
    with swapped_store(server, SLUG, build_store, tmp_path / "saved.duckdb"):
        yield


def _few_draws(server: RunningServer) -> None:
    from joinedup.value.models import ValueAccount

    with make_session(server.settings) as session:
        for account in session.query(ValueAccount):
            account.parameters = {
                **account.parameters,
                "mc_draws": 1000,
                "window_before": 3,
                "window_after": 3,
            }
        session.commit()


def _no_sideways_scroll(page: Any, where: str) -> None:
    assert (
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth") is False
    ), where


def test_lead_reads_the_account(page: Any, server: RunningServer, programme_place: None) -> None:
    sign_in(page, email_for(Role.ANALYST))
    page.goto(ACCOUNT)
    check_accessibility(page, "the account before it is computed")
    page.get_by_role("link", name="Set up the account").click()
    check_accessibility(page, "the account's settings")
    page.get_by_role("link", name="Change programme").click()
    # A mistake first: a caseload too small to publish is refused with a GOV.UK error.
    page.get_by_label("The programme's caseload extract").check()
    page.get_by_label("Source holding the programme's caseload").select_option("tiny_caseload")
    page.get_by_role("button", name="Save").click()
    assert "too few to publish" in page.locator(".govuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    check_accessibility(page, "the programme form with an error")
    page.get_by_label("Source holding the programme's caseload").select_option("fulfilling_lives")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Add the starter measures").click()
    assert "starter measures added" in page.locator(".govuk-notification-banner").inner_text()
    for path in ("/settings/parameters", "/settings/costs", "/settings/charter", "/settings/measures/new"):
        page.goto(ACCOUNT + path)
        check_accessibility(page, f"the settings page {path}")
    # The analyst chooses the measure the sentence leads with.
    page.goto(ACCOUNT + "/settings/parameters")
    page.get_by_label("Measure the account's sentence leads with").select_option("crisis_mental_health")
    page.set_viewport_size({"width": 320, "height": 700})
    _no_sideways_scroll(page, "the valuation settings at 320 px")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Save").click()
    assert "Parameters saved" in page.locator(".govuk-notification-banner").inner_text()
    _few_draws(server)
    page.goto(ACCOUNT)
    page.get_by_role("button", name="Compute the account").click()
    page.wait_for_selector("#headline", timeout=120_000)
    page.get_by_role("link", name="People in the programme").click()
    check_accessibility(page, "the programme's people (analysts only)")
    sign_out(page)

    sign_in(page, email_for(Role.LEAD))
    page.goto(CHARTER)
    page.get_by_role("link", name="Public value account").first.click()
    headline = page.locator("#headline").inner_text()
    assert "For 155 people" in headline and "than for similar people" in headline, headline
    assert "crisis mental health contacts" in headline and "before and after alone" in headline, headline
    main = page.inner_text("main")
    for words in (
        "Matched comparison group",
        "Who pays and who gains",
        "Proposed gain-share",
        "random draws",
    ):
        assert words in main, words
    assert page.locator("img[src$='/charts/tornado.svg']").count() == 1
    check_accessibility(page, "the public value account")
    screenshot(page, "value-account")
    page.set_viewport_size({"width": 320, "height": 700})
    _no_sideways_scroll(page, "the account at 320 px")
    check_accessibility(page, "the account at 320 px")
    screenshot(page, "value-account-320")

    page.set_viewport_size({"width": A4_WIDTH_PX, "height": 1123})
    page.goto(ACCOUNT + "/print")
    check_accessibility(page, "the account's print view")
    page.emulate_media(media="print")
    _no_sideways_scroll(page, "the print view on A4")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    screenshot(page, "value-account-print")
