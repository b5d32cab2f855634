"""An analyst adds next month's extracts (issue 9): two files uploaded at once go in with
their sources' stored mappings, the summary says what became of each, and linking them runs
incrementally and says what changed. Every new page passes axe and does not scroll sideways
at 320 px.

The browser tier shares one server and the place northbrook: the sources here have names no
other test uses (``nm_…``), and every wait after a post allows for a loaded machine (an
ingest under load took longer than the 10 s default)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from joinedup.places.roles import Role
from joinedup.synth.insight import generate_place
from joinedup.synth.next_month import next_month
from tests.support.browser import screenshot, sign_in
from tests.support.demo_like import email_for

from .test_mapping_journey import check_page

pytestmark = pytest.mark.browser

SOURCES = ("emergency_department", "housing_options")  # the services most people know
SLOW = 60_000  # ms: an ingest or a page after one, on a machine other tests load too


def _renamed(folder: Path, out: Path, suffix: str = "") -> list[tuple[Path, Path]]:
    """Each source's extract and mapping under a name no other browser test uses."""
    out.mkdir(parents=True)
    pairs = []
    for source in SOURCES:
        extract = out / f"nm_{source}{suffix}.csv"
        mapping = out / f"nm_{source}.toml"
        shutil.copy(folder / f"{source}.csv", extract)
        shutil.copy(folder / f"{source}.toml", mapping)
        pairs.append((extract, mapping))
    return pairs


def _wait_for_run(page: Any) -> None:
    assert re.search(r"/insight/runs/\d+$", page.url)
    page.wait_for_selector("text=Linking finished", timeout=120_000)


def test_analyst_uploads_next_months_extracts_together_and_links(page: Any, tmp_path: Path) -> None:
    generate_place(200, tmp_path / "now", seed=41, formats="csv")
    next_month(200, tmp_path / "next", seed=41, month=1, formats="csv")
    now = _renamed(tmp_path / "now", tmp_path / "now-named")
    later = _renamed(tmp_path / "next", tmp_path / "next-named", suffix="_2025-04")
    sign_in(page, email_for(Role.ANALYST))

    # Last month: each extract with its mapping, as the sources are held today, then linked.
    for extract, mapping in now:
        page.goto("/places/northbrook/insight/upload")
        page.set_input_files("#extract", str(extract))
        page.set_input_files("#mapping_file", str(mapping))
        with page.expect_navigation(timeout=SLOW):
            page.get_by_role("button", name="Upload and check").click()
        page.wait_for_selector(".govuk-notification-banner", timeout=SLOW)
    with page.expect_navigation(timeout=SLOW):
        page.get_by_role("button", name="Link all sources now").click()
    _wait_for_run(page)

    # Next month: both files at once, from the upload page's link.
    page.goto("/places/northbrook/insight/upload")
    page.get_by_role("link", name="Upload several extracts at once").click()
    assert page.locator("h1").inner_text() == "Upload several extracts at once"
    check_page(page, "the upload of several extracts")
    page.set_input_files("#extracts", [str(extract) for extract, _m in later])
    with page.expect_navigation(timeout=SLOW):
        page.get_by_role("button", name="Upload the extracts").click()
    page.wait_for_selector("h1:has-text('What became of each extract')", timeout=SLOW)
    changed = sum((tmp_path / "now" / f"{s}.csv").read_bytes()
                  != (tmp_path / "next" / f"{s}.csv").read_bytes() for s in SOURCES)  # fmt: skip
    assert changed, "next month added nothing to these sources: choose another seed"
    banner = page.locator(".govuk-notification-banner").inner_text()
    assert f"{changed} extract{'s' if changed > 1 else ''} ingested" in banner
    table = page.locator("table").inner_text()
    for extract, _m in later:
        assert extract.name in table
    assert "nm_housing_options" in table and "Replaced the previous extract" in table
    check_page(page, "the summary of several extracts")
    screenshot(page, "insight-upload-several-summary")

    with page.expect_navigation(timeout=SLOW):
        page.get_by_role("button", name="Link the new records").click()
    _wait_for_run(page)
    main = page.inner_text("main")
    assert "Incremental: only new and changed records scored" in main
    assert "Records new, changed, removed" in main and "Persons re-clustered" in main
    check_page(page, "the incremental run's page")
    screenshot(page, "insight-run-next-month")
