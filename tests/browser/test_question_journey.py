"""The insight team's first question, from the dashboard: how many people are known to three
or more services, what does their demand cost, and who bears it – in at most three clicks,
accessible, and without sideways scrolling at 320 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from joinedup.config import Settings
from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, submit
from tests.support.demo_like import email_for
from tests.support.server import RunningServer, running_server, seed_demo_like
from tests.support.small_place import build_small_place

pytestmark = pytest.mark.browser


def _seed(settings: Settings) -> None:
    seed_demo_like(settings)
    path = Path(settings.insight_dir) / "northbrook.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    build_small_place(path, copies=20)


@pytest.fixture(scope="module")
def question_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("question-server"), seed=_seed) as running:
        yield running


@pytest.fixture
def question_page(browser: Any, question_server: RunningServer) -> Iterator[Any]:
    context = browser.new_context(base_url=question_server.url, viewport={"width": 1280, "height": 900},
                                  locale="en-GB")  # fmt: skip
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def test_three_or_more_services_their_cost_and_who_bears_it_in_three_clicks(question_page: Any) -> None:
    page = question_page
    sign_in(page, email_for(Role.VIEWER))
    page.goto("/places/northbrook/insight")
    clicks = 0
    page.get_by_role("link", name="their cost and who bears it").click()
    clicks += 1
    assert "/insight/cohorts/services3" in page.url
    main = page.inner_text("main")
    assert "Known to three or more services" in main
    assert "Persons in the cohort" in main and "60" in main
    assert "Cost in 2024-25" in main and "£" in main
    who = page.locator("table", has_text="Who bears the cost in 2024-25")
    rows = who.locator("tbody tr").all_inner_texts()
    assert any(r.startswith("Total") for r in rows)
    assert any("Police" in r for r in rows)
    # Drill down: open a partner to see its services.
    page.locator("summary", has_text="Police").click()
    clicks += 1
    assert page.locator("table", has_text="Police: its services in 2024-25").is_visible()
    assert "Police Custody" in page.inner_text("main")
    assert clicks <= 3
    check_accessibility(page, "a cohort's cost and who bears it")
    screenshot(page, "insight-cohort-services3")
    page.set_viewport_size({"width": 320, "height": 700})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    check_accessibility(page, "a cohort's page at 320 px")
    page.goto("/places/northbrook/insight?partner=Police&sex=M")
    assert "Only persons known to Police, male." in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    check_accessibility(page, "the filtered dashboard at 320 px")


def test_defining_a_cohort_is_accessible_and_fits_320_px(question_page: Any) -> None:
    page = question_page
    sign_in(page, email_for(Role.LEAD))
    page.goto("/places/northbrook/insight/cohorts")
    page.get_by_label("Name").fill("Police women")
    page.get_by_role("group", name="Known to every one of these partners").get_by_label("Police").check()
    page.get_by_role("group", name="Sex").get_by_label("Female").check()
    submit(page, page.get_by_role("button", name="Save cohort"))
    assert "/insight/cohorts/police_women" in page.url
    assert "No one in" in page.inner_text("main")
    check_accessibility(page, "an empty cohort")
    page.goto("/places/northbrook/insight/cohorts")
    page.get_by_label("Name").fill("Elsewhere")
    page.get_by_label("Known to at least this many services").fill("many")
    page.get_by_role("button", name="Save cohort").click()
    assert page.title().startswith("Error: ")
    check_accessibility(page, "the cohort form with an error")
    page.set_viewport_size({"width": 320, "height": 700})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.goto("/places/northbrook/insight/cohorts/police_women/delete")
    check_accessibility(page, "deleting a cohort")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
