"""Issue 8's whole journey, in the browser and nowhere else: an administrator creates a new
place, adds its partners and services and invites an analyst; the analyst maps three raw
extracts (no TOML written by hand), ingests and links them, and answers the first question an
insight team asks – how many people are known to three or more services, what their demand
costs and who bears it – from the dashboard's headline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from joinedup.places.roles import Role
from joinedup.synth.insight import generate_place
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, submit
from tests.support.demo_like import DEMO_PASSWORD, email_for

pytestmark = pytest.mark.browser

PLACE = "/places/lowmoor"
# Three of the synthetic extracts, each with the registry partner and service it belongs to.
EXTRACTS = (
    ("housing_options", "Lowmoor District Council", "local government", "Housing options"),
    ("emergency_department", "Lowmoor Hospitals NHS Trust", "NHS", "Emergency department"),
    ("police_custody", "Lowmoor Constabulary", "police and justice", "Custody suite"),
)
OVERFLOWS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def _fits(page: Any, where: str) -> None:
    check_accessibility(page, where)
    page.set_viewport_size({"width": 320, "height": 700})
    try:
        assert not page.evaluate(OVERFLOWS), f"{where} scrolls sideways at 320 px"
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def _sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def _set_up_the_place(page: Any) -> None:
    sign_in(page, email_for(Role.ADMIN))
    page.get_by_role("link", name="Create a place").click()
    page.get_by_label("Name of the place").fill("Lowmoor")
    page.get_by_label("Short name (optional)").fill("lowmoor")
    page.get_by_label("Adult population (optional)").fill("60,000")
    submit(page, page.get_by_role("button", name="Create place"))
    assert page.url.endswith(f"{PLACE}/partners")
    for _source, partner, sector, service in EXTRACTS:
        page.goto(f"{PLACE}/partners/add")
        page.get_by_label("Name of the organisation").fill(partner)
        page.get_by_label(sector if sector == "NHS" else sector.capitalize(), exact=True).check()
        page.get_by_role("button", name="Add partner").click()
        assert f"{partner} added" in page.locator(".govuk-notification-banner").inner_text()
        page.get_by_role("button", name="Add a service").click()
        page.get_by_label("Name of the service").fill(service)
        page.get_by_role("button", name="Add service").click()
        assert f"{service} added to {partner}" in page.inner_text("main")
    page.goto(f"{PLACE}/services")
    _fits(page, "the new place's services")
    # The analyst of Northbrook is invited to be Lowmoor's analyst too.
    page.goto(f"{PLACE}/users/add")
    page.get_by_label("Email address").fill(email_for(Role.ANALYST))
    page.get_by_label("Insight analyst", exact=True).check()
    page.get_by_label("Full name").fill("Lowmoor analyst")
    page.get_by_label("Temporary password").fill("a-temporary-password-1")
    page.get_by_role("button", name=re.compile("Invite|Add")).click()
    assert "is invited to be a" in page.inner_text("main")
    _sign_out(page)


def _map_and_ingest(page: Any, extract: Path, source: str, partner: str, service: str) -> None:
    page.goto(f"{PLACE}/insight/upload")
    page.set_input_files("#extract", str(extract))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and check").click()
    assert page.locator("h1").inner_text() == "Check the columns"
    page.fill("#source_name", source)
    page.select_option("#partner", value=partner)
    page.select_option("#service", value=service)
    page.fill("#legal_basis", "UK GDPR 6(1)(e); 9(2)(g) with DPA 2018 Sch.1")
    # Where the values could not say whether dates are day-first, the analyst says so.
    for radio in page.locator("input[type=radio][value*='%d/%m']").all():
        radio.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and ingest").click()
    assert "was ingested" in page.locator(".govuk-notification-banner").inner_text(), page.inner_text("main")


def test_a_new_place_answers_its_first_question_in_the_browser(page: Any, tmp_path: Path) -> None:
    page.context.set_default_timeout(60_000)
    extracts = generate_place(900, tmp_path / "extracts", seed=31, formats="csv")
    _set_up_the_place(page)

    sign_in(page, email_for(Role.ANALYST), DEMO_PASSWORD)
    page.goto("/account/invitations")
    page.get_by_role("button", name="Accept the invitation to Lowmoor").click()
    page.wait_for_load_state()
    for source, partner, _sector, service in EXTRACTS:
        _map_and_ingest(page, extracts.extract(source), source, partner, service)
    page.goto(f"{PLACE}/insight/runs")
    page.get_by_role("button", name="Link all sources").click()
    page.wait_for_selector("text=/Linking (finished|failed)/", timeout=300_000)
    assert "Linking finished" in page.inner_text("main"), page.inner_text("main")

    page.goto(f"{PLACE}/insight")
    _fits(page, "the new place's dashboard")
    page.get_by_role("link", name="their cost and who bears it").click()
    main = page.inner_text("main")
    screenshot(page, "new-place-three-or-more")
    assert "Known to three or more services" in main
    who = page.locator("table", has_text="Who bears the cost")
    rows = who.locator("tbody tr").all_inner_texts()
    assert any(partner in " ".join(rows) for _s, partner, _sec, _svc in EXTRACTS), rows
    assert "£" in who.inner_text() and "Total" in who.inner_text()
    _fits(page, "the three-or-more cohort")
