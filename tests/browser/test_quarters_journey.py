"""A lead goes from the state of collaboration to demand and cost by quarter and reads it on
a wide screen and at 320 px; axe checks the page both times."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import sign_in
from tests.support.demo_like import email_for
from tests.support.quarter_place import PLAN, build_quarter_place
from tests.support.server import RunningServer, swapped_store

pytestmark = pytest.mark.browser

SLUG = "northbrook"


@pytest.fixture
def quarter_place(server: RunningServer, tmp_path: Path) -> Iterator[None]:
    """The server's store replaced by the attack test's place (and put back afterwards)."""
    with swapped_store(server, SLUG, lambda store: build_quarter_place(store, PLAN).close(),
                       tmp_path / "saved.duckdb"):  # fmt: skip
        yield


def test_a_lead_reads_demand_and_cost_by_quarter(page: Any, quarter_place: None) -> None:
    sign_in(page, email_for(Role.LEAD))
    page.goto(f"/places/{SLUG}/state")
    page.get_by_role("link", name="Demand and cost by quarter").click()
    assert page.locator("h1").inner_text() == "Demand and cost by quarter"
    main = page.inner_text("main")
    assert "Q3 2024-25" in main and "Emergency Department (NHS Trust)" in main
    assert "controlled together" in main
    check_accessibility(page, "demand and cost by quarter")
    page.set_viewport_size({"width": 320, "height": 700})
    assert (
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth") is False
    ), "the quarters page scrolls sideways at 320 px"
    check_accessibility(page, "demand and cost by quarter at 320 px")
