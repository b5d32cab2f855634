"""Surveys in a real browser: a lead opens a citizen-voice round, a resident answers it on a
phone-sized screen with JavaScript off, the lead closes the round and reads the results;
axe checks every survey page on the way, and the demo's full results pages too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from joinedup.config import Settings
from joinedup.db.session import make_session
from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, submit
from tests.support.demo_like import email_for, seed_demo_like
from tests.support.server import RunningServer, running_server

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


def _seed(settings: Settings) -> None:
    from joinedup.synth.surveys import load_demo_surveys

    with make_session(settings) as session:
        demo = seed_demo_like(session)
        load_demo_surveys(session, demo.place_slug)
        session.commit()


@pytest.fixture(scope="module")
def survey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("survey-server"), seed=_seed) as running:
        yield running


def _context(browser: Any, server: RunningServer, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"base_url": server.url, "locale": "en-GB",
                               "viewport": {"width": 1280, "height": 900}}
    options.update(kwargs)
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    return context


def _choose(page: Any, group: str, label: str) -> None:
    page.get_by_role("group", name=group).get_by_label(label, exact=True).check()


def test_round_from_opening_to_results(browser: Any, survey_server: RunningServer) -> None:
    lead_ctx = _context(browser, survey_server)
    lead = lead_ctx.new_page()
    sign_in(lead, email_for(Role.LEAD))
    lead.goto("/places/northbrook/surveys")
    check_accessibility(lead, "surveys home")
    lead.get_by_role("button", name="Start a round").click()
    check_accessibility(lead, "start a round")
    _choose(lead, "Which survey?", "Citizen voice")
    lead.get_by_label("Title").fill("Browser test round")
    closes = lead.get_by_role("group", name="Closing date")
    closes.get_by_label("Day").fill("31")
    closes.get_by_label("Month").fill("12")
    closes.get_by_label("Year").fill("2099")
    lead.get_by_role("button", name="Start the round").click()
    # Forgot the areas: a GOV.UK error names the field.
    assert "Enter at least one area" in lead.locator(".govuk-error-summary").inner_text()
    check_accessibility(lead, "start a round with an error")
    lead.get_by_label("Areas of the place (citizen voice only)").fill("Northside, 60000\nSouthside, 40000")
    submit(lead, lead.get_by_role("button", name="Start the round"))
    check_accessibility(lead, "round page")
    link = lead.locator("#open-link").inner_text().strip()
    round_url = lead.url

    # A resident on a phone, JavaScript off.
    phone_ctx = _context(browser, survey_server, viewport=PHONE, java_script_enabled=False,
                         is_mobile=True, has_touch=True)
    phone = phone_ctx.new_page()
    phone.goto(link)
    assert phone.get_by_role("heading", level=1).inner_text() == "Your experience of local services"
    screenshot(phone, "survey-phone-start")
    phone.get_by_role("button", name="Start now").click()
    phone.get_by_role("button", name="Save and continue").click()  # nothing chosen
    assert "There is a problem" in phone.locator(".govuk-error-summary").inner_text()
    phone.get_by_label("GP or health centre").check()
    phone.get_by_label("Hospital").check()
    phone.get_by_role("button", name="Save and continue").click()
    _choose(phone, "Were you treated with dignity and respect?", "Often")
    _choose(phone, "Did you get a service that fitted your circumstances?", "Sometimes")
    _choose(phone, "Did you feel involved in decisions about the services you receive?", "Never")
    _choose(phone, "Did you have to tell your story more than once to different services?", "Yes")
    _choose(phone, "Did the services seem to work together?", "Don't know")
    phone.get_by_role("button", name="Save and continue").click()
    phone.get_by_label("What would make services work better together for you?").fill(
        "One person to talk to who knows my story.")
    phone.get_by_role("button", name="Save and continue").click()
    _choose(phone, "How old are you?", "35 to 44")
    _choose(phone, "What is your sex?", "Prefer not to say")
    _choose(phone, "Which area do you live in?", "Southside")
    phone.get_by_role("button", name="Save and continue").click()
    assert phone.get_by_role("heading", level=1).inner_text() == "Check your answers"
    assert "GP or health centre, Hospital" in phone.inner_text("main")
    screenshot(phone, "survey-phone-check")
    # Change an answer from the check page and come back to it.
    phone.get_by_role("link", name="Change Your experience").click()
    _choose(phone, "Did the services seem to work together?", "Hardly ever")
    phone.get_by_role("button", name="Save and continue").click()
    assert "Hardly ever" in phone.inner_text("main")
    phone.get_by_role("button", name="Send your answers").click()
    assert "Answers sent" in phone.locator(".govuk-panel").inner_text()
    screenshot(phone, "survey-phone-done")
    assert phone.goto(link + "x").status == 404

    # The same pages pass axe (axe needs scripts, so a phone with JavaScript on).
    axe_ctx = _context(browser, survey_server, viewport=PHONE)
    axe_page = axe_ctx.new_page()
    axe_page.goto(link)
    check_accessibility(axe_page, "survey start")
    axe_page.get_by_role("button", name="Start now").click()
    check_accessibility(axe_page, "survey first section")
    axe_page.get_by_role("button", name="Save and continue").click()
    check_accessibility(axe_page, "survey section with an error")
    axe_page.get_by_label("None of these").check()
    axe_page.get_by_role("button", name="Save and continue").click()
    check_accessibility(axe_page, "survey experience section")
    axe_page.goto(link + "/check")
    check_accessibility(axe_page, "check your answers")
    axe_page.get_by_role("button", name="Send your answers").click()
    check_accessibility(axe_page, "answers sent")
    lead.goto(round_url)
    lead.get_by_role("link", name="Check or change the population margins").click()
    check_accessibility(lead, "population margins")

    # A readiness round: its statement pages (ambition and practice) pass axe too.
    lead.goto("/places/northbrook/surveys/new")
    _choose(lead, "Which survey?", "Readiness to collaborate")
    lead.get_by_label("Title").fill("Readiness, browser test")
    closes = lead.get_by_role("group", name="Closing date")
    closes.get_by_label("Day").fill("31")
    closes.get_by_label("Month").fill("12")
    closes.get_by_label("Year").fill("2099")
    lead.get_by_role("button", name="Start the round").click()
    readiness_link = lead.locator("#open-link").inner_text().strip()
    axe_page.goto(readiness_link)
    axe_page.get_by_role("button", name="Start now").click()
    check_accessibility(axe_page, "readiness: about you")
    _choose(axe_page, "Which partner organisation do you work for?", "Brookside Homes")
    _choose(axe_page, "What level do you work at?", "Front line")
    axe_page.get_by_role("button", name="Save and continue").click()
    assert axe_page.get_by_role("heading", level=1).inner_text() == "Insight"
    _choose(axe_page, "Partners share information about the people they serve with each other. – "
                      "How important is this to the partnership?", "Essential")
    check_accessibility(axe_page, "readiness: a component's statements")

    # The lead closes the round and reads the results.
    lead.goto(round_url)
    lead.get_by_role("button", name="Close the round").click()
    assert "The round is closed" in lead.locator(".govuk-notification-banner").inner_text()
    lead.get_by_role("link", name="Read the results").click()
    assert "2 residents answered" in lead.inner_text("main")
    assert "Fewer than 5 people have answered" in lead.inner_text("main")
    check_accessibility(lead, "results of a round with one answer")
    phone.goto(link)
    assert phone.get_by_role("heading", level=1).inner_text() == "This survey has closed"
    axe_page.goto(link)
    check_accessibility(axe_page, "closed round")
    for ctx in (lead_ctx, phone_ctx, axe_ctx):
        ctx.close()


def test_demo_results_pages_are_accessible(browser: Any, survey_server: RunningServer) -> None:
    ctx = _context(browser, survey_server)
    page = ctx.new_page()
    sign_in(page, email_for(Role.ANALYST))
    page.goto("/places/northbrook/surveys")
    page.get_by_role("link", name="Results of Readiness to collaborate 2026").click()
    page.wait_for_load_state("load")
    for img in page.locator("main img").all():  # every chart arrived as an image
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
    check_accessibility(page, "readiness results")
    screenshot(page, "survey-readiness-results")
    page.goto("/places/northbrook/surveys")
    page.get_by_role("link", name="Results of Your experience of local services 2026").click()
    assert "Effective sample size" in page.inner_text("main")
    check_accessibility(page, "citizen-voice results")
    screenshot(page, "survey-citizen-results")
    page.get_by_role("link", name="Code the free text").click()
    check_accessibility(page, "themes tagging view")
    page.get_by_role("button", name="Code the rest with the model").click()
    assert "The model coded" in page.locator(".govuk-notification-banner").inner_text()
    page.goto("/places/northbrook/surveys/compare")
    check_accessibility(page, "staff view beside citizen view")
    screenshot(page, "survey-compare")
    ctx.close()
    lead_ctx = _context(browser, survey_server)
    lead = lead_ctx.new_page()
    sign_in(lead, email_for(Role.LEAD))
    lead.goto("/places/northbrook/surveys")
    # submit() waits for each page: axe run straight after a bare click can find the old
    # page gone and the new one not yet there (CI once saw no document at all).
    submit(lead, lead.get_by_role("link", name="Manage Readiness to collaborate 2026"))
    submit(lead, lead.get_by_role("link", name="Import answers from a CSV file"))
    check_accessibility(lead, "import page")
    lead.go_back()
    lead.wait_for_load_state()
    submit(lead, lead.get_by_role("link", name="Read the results"))
    submit(lead, lead.get_by_role("link", name="Printable round report"))
    check_accessibility(lead, "printable report")
    lead_ctx.close()
