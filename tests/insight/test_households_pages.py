"""Households on the dashboard (controlled, for everyone who sees the dashboard) and on a
person's page (who they lived with; analysts only, audited with the page)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from joinedup.config import Settings
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.households import household_counts, household_figures, household_of
from joinedup.insight.periods import available_years
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from tests.insight.test_review import BASE, SLUG, _as, insight, linked  # noqa: F401
from tests.support.client import PageClient
from tests.support.demo_like import demo  # noqa: F401


def _shown(n: int | None) -> str:
    return "*" if n is None else f"{n:,}"


@pytest.mark.slow
@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST])
def test_the_dashboard_shows_controlled_households(
    client: PageClient, insight: Path, settings: Settings, role: Role  # noqa: F811
) -> None:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    year = available_years(con)[0]
    raw = household_counts(con, year)
    figures = household_figures(con, PlaceContext(slug=SLUG, rule=DisclosureRule()), year)
    con.close()
    assert raw.two_or_more > 0, "the synthetic place should have households of two or more"
    page = _as(client, role).get(BASE + f"?year={year.label}")
    assert page.status_code == 200
    section = page.text.split('id="households"', 1)[1].split("<h2", 1)[0]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))
    assert f"Households by size in {year.label}" in text
    assert f"Households of two or more linked persons {_shown(figures.two_or_more)}" in text
    assert f"(Think Family) {_shown(figures.known_to_three_or_more)}" in text
    if raw.two_or_more != figures.two_or_more:  # rounded: the exact count is not on the page
        assert f"persons {raw.two_or_more:,} " not in text


@pytest.mark.slow
def test_a_person_page_shows_who_they_lived_with(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    year = available_years(con)[0]
    persons = [p for (p,) in con.execute("SELECT DISTINCT person_id FROM person_links ORDER BY 1").fetchall()]
    person, housemates = next((p, others) for p in persons if (others := household_of(con, p, year)))
    con.close()
    page = _as(client, Role.ANALYST).get(BASE + f"/persons/{person}")
    assert page.status_code == 200
    section = page.text.split('id="household"', 1)[1]
    for other in housemates:
        assert f"/persons/{other}" in section
    assert person not in housemates


@pytest.mark.slow
def test_a_person_page_shows_a_previous_surname_as_written(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    person, previous = con.execute(
        "SELECT l.person_id, coalesce(r.previous_surname_raw, r.previous_surname) FROM person_links l "
        "JOIN records r USING (source, record_id) WHERE r.previous_surname IS NOT NULL ORDER BY 1 LIMIT 1"
    ).fetchall()[0]
    con.close()
    page = _as(client, Role.ANALYST).get(BASE + f"/persons/{person}")
    assert page.status_code == 200
    names = page.text.split("Names", 1)[1].split("</table>", 1)[0]
    assert f"(previously {previous})" in names
