"""An analyst maps a raw extract in the browser, by keyboard: upload it without a mapping,
check the suggested columns, correct a mistake, save and ingest, download the mapping, then
delete the source. Every new page passes axe and does not scroll sideways at 320 px."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from joinedup.insight.mapping import parse_mapping
from joinedup.places.roles import Role
from joinedup.synth.insight import generate_place
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in
from tests.support.demo_like import email_for

pytestmark = pytest.mark.browser


def check_page(page: Any, where: str) -> None:
    """axe at full width, then no sideways scrolling (and axe again) at 320 px."""
    check_accessibility(page, where)
    page.set_viewport_size({"width": 320, "height": 700})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not overflow, f"{where} scrolls sideways at 320 px"
    check_accessibility(page, f"{where} at 320 px")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_analyst_maps_an_extract_in_the_browser(page: Any, tmp_path: Path) -> None:
    place = generate_place(150, tmp_path / "extracts", seed=21)
    sign_in(page, email_for(Role.ANALYST))
    page.goto("/places/northbrook/insight/upload")
    check_page(page, "the upload page")
    page.set_input_files("#extract", str(place.extract("domestic_abuse_support")))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and check").press("Enter")
    assert page.locator("h1").inner_text() == "Check the columns"
    assert page.locator("#col-0").input_value() == "record_id"
    assert "NHS" not in page.locator("#col-0-hint").inner_text()
    check_page(page, "the column check")
    screenshot(page, "mapping-check-columns")

    # By keyboard: empty the source name and save; the error summary links to the field.
    page.focus("#source_name")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.get_by_role("button", name="Save and ingest").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.title().startswith("Error: ")
    summary = page.locator(".govuk-error-summary")
    assert "Enter a name for the source" in summary.inner_text()
    check_page(page, "the column check with an error")
    summary.get_by_role("link", name="Enter a name for the source").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "source_name"
    page.keyboard.type("refuge_browser")
    page.focus("#legal_basis")
    page.keyboard.type("UK GDPR 6(1)(e)")
    page.keyboard.press("Enter")  # submits the form, as Enter in a text field does
    # Wait for the validation report itself, not for any navigation: the ingest runs before
    # the redirect, and under a loaded CI machine it can take longer than a page load.
    page.wait_for_url(re.compile(r"/sources/refuge_browser\?uploaded=1$"), timeout=60_000)
    expect(page.locator(".govuk-notification-banner")).to_contain_text("was ingested")
    assert re.search(r"/sources/refuge_browser", page.url)

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download mapping")).click()
    mapping = parse_mapping(Path(download.value.path()).read_text(encoding="utf-8"))
    assert mapping.name == "refuge_browser" and mapping.spec("record_id") is not None

    page.get_by_role("link", name=re.compile("Delete this source")).click()
    assert "Delete the source refuge_browser?" in page.locator("h1").inner_text()
    check_page(page, "the delete confirmation")
    page.focus("#confirm")
    page.keyboard.press("Space")
    page.get_by_role("button", name="Delete the source").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "refuge_browser was deleted" in page.inner_text("main")
    check_page(page, "the sources page after a deletion")
    run = page.locator("a[href*='/insight/runs/']")
    if run.count():  # wait for the re-link, so that later tests find no run going
        run.first.click()
        page.wait_for_selector("text=/Linking (finished|failed)/", timeout=120_000)
