"""An analyst works through the review queue: opens a pair, reads the two records and the
model's evidence, makes a mistake, decides, and sees the estimate on the runs page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from joinedup.insight import review
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.synth.insight import generate_place
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

SLUG = "northbrook"


def _linked_place(server: RunningServer, tmp_path: Path) -> None:
    """The place linked (by the insight journey if it ran first, else here), with a band
    wide enough that the queue holds pairs."""
    path = Path(server.settings.insight_dir) / f"{SLUG}.duckdb"
    con = connect(path, memory_limit="500MB", threads=1)
    try:
        (done,) = con.execute("SELECT count(*) FROM link_runs WHERE status = 'done'").fetchone() or (0,)
        if not done:
            generate_place(300, tmp_path / "extracts", seed=3, formats="csv")
            seed_reference(con)
            ingest_directory(con, tmp_path / "extracts")
            link_place(con, work_dir=tmp_path / "work")
        review.ensure_schema(con)
        if not review.queue(con, 0.9):
            review.set_band(con, 0.5, 0.99999)
    finally:
        con.close()


def test_analyst_reviews_a_pair(page: Any, server: RunningServer, tmp_path: Path) -> None:
    from tests.support.demo_like import email_for

    _linked_place(server, tmp_path)
    sign_in(page, email_for(Role.ANALYST))
    page.goto(f"/places/{SLUG}/insight/runs")
    page.get_by_role("link", name="Review pairs the model is unsure of").click()
    assert page.locator("h1").inner_text() == "Review pairs"
    check_accessibility(page, "the review queue")
    page.get_by_role("link", name="Review pair 1", exact=True).click()
    assert "Are these the same person?" in page.locator("h1").inner_text()
    assert "Match weight in all" in page.inner_text("main")
    assert page.get_by_role("table").first.is_visible()  # across, on a wide screen
    check_accessibility(page, "a pair to review")
    screenshot(page, "insight-review-pair")

    # A mistake first: saving without a decision gives the GOV.UK error pattern.
    page.get_by_role("button", name="Save decision").click()
    assert page.title().startswith("Error: ")
    assert "Choose same person" in page.locator(".govuk-error-summary").inner_text()
    check_accessibility(page, "a pair to review, with an error")

    page.set_viewport_size({"width": 320, "height": 700})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    # The records read down, field by field, rather than in a table that scrolls sideways.
    assert not page.get_by_role("table").first.is_visible()
    records = page.locator(".app-only-narrow .govuk-summary-list").first
    assert records.is_visible()
    assert "First record:" in records.inner_text() and "Second record:" in records.inner_text()
    check_accessibility(page, "a pair to review at 320 px")
    screenshot(page, "insight-review-pair-320")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_label("Different people").check()
    page.get_by_role("button", name="Save decision").click()
    assert page.locator("h1").inner_text() == "Review pairs"
    page.set_viewport_size({"width": 320, "height": 700})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size({"width": 1280, "height": 900})
    # A decision from the queue is not counted towards the estimate, and the page says so.
    assert "Not counted: 1 decision on pairs taken from the queue" in page.inner_text("main")
    # The check sample, by keyboard: a pair drawn at random, decided, counted.
    button = page.get_by_role("button", name="Check a pair drawn at random")
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Are these the same person?" in page.locator("h1").inner_text()
    assert "drawn at random for the check sample" in page.inner_text("main")
    check_accessibility(page, "a pair drawn for the check sample")
    page.get_by_label("Same person").check()
    page.get_by_role("button", name="Save decision").click()
    assert page.locator("h1").inner_text() == "Review pairs"
    check_accessibility(page, "the review queue with the check sample")
    screenshot(page, "insight-review-check")
    page.goto(f"/places/{SLUG}/insight/runs")
    text = page.inner_text("main")
    assert "Accuracy from the check sample" in text
    # 1, or 2 if the draw met the queue's pair first: a drawn pair counts with its decision.
    assert re.search(r"From (1 pair|2 pairs) drawn at random from the band", text)
    check_accessibility(page, "the runs page with the estimate")
