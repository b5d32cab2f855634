"""An analyst uploads partner extracts, reads the validation report, runs linkage and
watches its progress, and opens the dashboard; a partner user then sees only
disclosure-controlled aggregates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from joinedup.places.roles import Role
from joinedup.synth.insight import generate_place
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, sign_out, submit
from tests.support.demo_like import email_for

pytestmark = pytest.mark.browser


SOURCES = ("housing_options", "police_custody", "drug_alcohol_recovery")


def test_analyst_links_and_partner_sees_aggregates(page, tmp_path: Path) -> None:
    place = generate_place(400, tmp_path / "extracts", seed=3)
    sign_in(page, email_for(Role.ANALYST))
    page.goto("/places/northbrook/insight")
    page.get_by_role("link", name="Upload an extract").first.click()
    check_accessibility(page, "the upload page")

    # A mistake first: a mapping without its extract is refused with a GOV.UK error.
    page.set_input_files("#mapping_file", str(place.mapping(SOURCES[0])))
    page.get_by_role("button", name="Upload and check").click()
    summary = page.locator(".govuk-error-summary")
    assert "Choose the partner's extract" in summary.inner_text()
    assert page.title().startswith("Error: ")

    for source in SOURCES:
        page.goto("/places/northbrook/insight/upload")
        page.set_input_files("#extract", str(place.extract(source)))
        page.set_input_files("#mapping_file", str(place.mapping(source)))
        page.get_by_role("button", name="Upload and check").click()
        assert "Validation report" in page.locator("h1").inner_text()
        assert "was ingested" in page.locator(".govuk-notification-banner").inner_text()
    check_accessibility(page, "a validation report")
    screenshot(page, "insight-validation-report")

    submit(page, page.get_by_role("button", name="Link all sources now"))
    assert re.search(r"/insight/runs/\d+$", page.url)
    # The run page's script polls the run's status and loads the outcome when linking ends.
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    check_accessibility(page, "the linkage run page")
    page.wait_for_selector("text=Linking finished", timeout=90_000)
    screenshot(page, "insight-run-finished")
    submit(page, page.get_by_role("button", name="Open the dashboard"))
    assert "Known to 3 or more services" in page.inner_text("main")
    assert page.locator("img[src*='/charts/overlaps.svg']").count() == 1
    check_accessibility(page, "the insight dashboard")
    screenshot(page, "insight-dashboard")
    # Splink's own explanation opens (sandboxed) and draws its chart.
    for name in ("Match weights of the model", "Cluster studio"):
        page.get_by_role("link", name=name).click()
        page.wait_for_selector("canvas, svg", timeout=20_000)
        page.go_back()
    sign_out(page)

    sign_in(page, email_for(Role.PARTNER))
    page.goto("/places/northbrook/insight")
    main = page.inner_text("main")
    assert "Counts from 1 to 7 are suppressed" in main
    assert "Links of records to persons" not in main
    numbers = page.locator("td.govuk-table__cell--numeric").all_inner_texts()
    counts = [n.replace(",", "") for n in numbers if re.fullmatch(r"[\d,]+", n)]
    assert counts and all(int(n) % 5 == 0 for n in counts)
    # On a 320 px screen the page reflows: wide tables scroll in their own focusable region.
    page.set_viewport_size({"width": 320, "height": 700})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    check_accessibility(page, "the insight dashboard at 320 px")
    screenshot(page, "insight-dashboard-320")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.goto("/places/northbrook/insight/persons").status == 403
