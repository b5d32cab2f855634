"""Cohort pages, the one-click headline, dashboard filters in the URL, and deleting a cohort.

The place is the small place of tests/support/small_place.py with every person twenty
times over, so that its figures are large enough to show: 60 persons are known to three or
more services (P1, P4 and P5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401
from tests.support.small_place import build_small_place

SLUG = "northbrook"
BASE = f"/places/{SLUG}/insight"


@pytest.fixture
def place(settings: Settings, demo: DemoLike) -> Path:  # noqa: F811
    path = Path(settings.insight_dir) / f"{SLUG}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    build_small_place(path, copies=20)
    return path


def _as(client: PageClient, role: Role) -> PageClient:
    client.sign_in(email_for(role), DEMO_PASSWORD)
    return client


def _summary(page: str, key: str) -> str:
    match = re.search(re.escape(key) + r"\s*</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S)
    assert match, key
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_the_headline_is_one_click_from_its_cohort_cost_and_who_bears_it(
    client: PageClient, place: Path
) -> None:
    viewer = _as(client, Role.VIEWER)
    dashboard = viewer.get(BASE).text
    link = re.search(r'href="(/places/northbrook/insight/cohorts/services3[^"]*)"', dashboard)
    assert link, "the headline 'known to 3 or more services' links to its cohort"
    page = viewer.get(link.group(1).replace("&amp;", "&")).text
    assert "Known to three or more services" in page
    assert _summary(page, "Persons in the cohort") == "60"
    assert _summary(page, "Cost in 2024-25").startswith("£")
    assert "Who bears the cost in 2024-25" in page
    partners = re.search(r"Who bears the cost.*?</table>", page, re.S)
    assert partners and ">Total<" in partners.group(0)
    for partner in ("Council", "Police", "Recovery Ltd", "NHS Trust"):
        assert partner in partners.group(0)
    # Drill down: each partner opens onto its services, with their total.
    assert "Police: its services in 2024-25" in page and "Police Custody" in page
    # Viewers see no link to the persons behind it; analysts do.
    assert "/persons?cohort=services3" not in page
    analyst_page = _as(client, Role.ANALYST).get(BASE + "/cohorts/services3").text
    assert "/persons?cohort=services3" in analyst_page


def test_a_bad_year_on_a_cohort_page_is_an_error_on_the_field(client: PageClient, place: Path) -> None:
    page = _as(client, Role.VIEWER).get(BASE + "/cohorts/services3?year=2019-20")
    assert page.status_code == 200
    assert "govuk-error-summary" in page.text and "Choose one of the financial years" in page.text
    assert _as(client, Role.VIEWER).get(BASE + "/cohorts/nosuch").status_code == 404


def test_filters_are_in_the_url_and_apply_to_tables_charts_and_downloads(
    client: PageClient, place: Path
) -> None:
    viewer = _as(client, Role.VIEWER)
    whole = viewer.get(BASE + "?year=2024-25").text
    page = viewer.get(BASE + "?year=2024-25&partner=Police&sex=M").text
    assert "Only persons known to Police, male." in page
    # Police and male: P1, P4 and P6, twenty of each.
    assert _summary(page, "Persons") == "60" and _summary(whole, "Persons") == "120"
    assert 'value="Police" selected' in page
    for url in re.findall(r'(?:src|href)="(/places/northbrook/insight/(?:charts|export)/[^"]+)"', page):
        url = url.replace("&amp;", "&")
        if "links.csv" in url:
            continue
        assert "partner=Police" in url and "sex=M" in url, url
        response = viewer.get(url)
        assert response.status_code == 200, url
    demand = viewer.get(BASE + "/export/demand.csv?year=2024-25&partner=Police&sex=M").text
    assert "Emergency Department" in demand
    unfiltered = viewer.get(BASE + "/export/demand.csv?year=2024-25").text
    assert demand != unfiltered


def test_a_filter_for_a_partner_of_another_place_is_a_clear_message(client: PageClient, place: Path) -> None:
    viewer = _as(client, Role.VIEWER)
    page = viewer.get(BASE + "?partner=Southbrook+Council")
    assert page.status_code == 200
    assert "govuk-error-summary" in page.text
    assert "is not a partner of this place" in page.text and 'href="#partner"' in page.text
    assert "Only persons" not in page.text  # no filter applies
    csv = viewer.get(BASE + "/export/demand.csv?partner=Southbrook+Council")
    assert csv.status_code == 400 and "not a partner of this place" in csv.text
    assert viewer.get(BASE + "?age_band=200-300").status_code == 200
    assert viewer.get(BASE + "/charts/costs.svg?need=astrology").status_code == 400


def test_a_lead_defines_a_cohort_by_rules_and_sees_its_page(client: PageClient, place: Path) -> None:
    lead = _as(client, Role.LEAD)
    token = lead.csrf(BASE + "/cohorts")
    bad = lead.post(BASE + "/cohorts", data={"csrf_token": token, "name": "Elsewhere",
                                             "partners": ["Southbrook Council"]})  # fmt: skip
    assert bad.status_code == 400 and "not a partner of this place" in bad.text
    assert 'href="#partners"' in bad.text
    assert "Elsewhere" not in lead.get(BASE + "/cohorts").text
    bad_number = lead.post(BASE + "/cohorts", data={"csrf_token": token, "name": "x",
                                                    "min_services": "three"})  # fmt: skip
    assert bad_number.status_code == 400 and "whole number" in bad_number.text
    ok = lead.post(BASE + "/cohorts", data={"csrf_token": token, "name": "Police men",
                                            "partners": ["Police"], "sexes": ["M"]},
                   follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303 and ok.headers["location"].endswith("/cohorts/police_men")
    page = lead.get(ok.headers["location"]).text
    assert _summary(page, "Persons in the cohort") == "60"
    nobody = lead.post(BASE + "/cohorts", data={"csrf_token": token, "name": "Young women",
                                                "age_bands": ["18-24"], "sexes": ["F"]},
                       follow_redirects=False)  # fmt: skip
    assert nobody.status_code == 303
    empty = lead.get(nobody.headers["location"])
    assert empty.status_code == 200 and "No one in" in empty.text and "Who bears" not in empty.text


def test_deleting_a_cohort_asks_first_is_audited_and_removes_its_figures(
    client: PageClient, place: Path, session: Session
) -> None:
    lead = _as(client, Role.LEAD)
    lead.post_form(BASE + "/cohorts", {"name": "Police men", "partners": ["Police"], "sexes": ["M"]},
                   token_from=BASE + "/cohorts")  # fmt: skip
    assert "Police men" in lead.get(BASE).text
    confirm = lead.get(BASE + "/cohorts/police_men/delete")
    assert confirm.status_code == 200 and "Are you sure" in confirm.text
    unanswered = lead.post_form(BASE + "/cohorts/police_men/delete", {},
                                token_from=BASE + "/cohorts/police_men/delete")  # fmt: skip
    assert unanswered.status_code == 400 and "Select yes" in unanswered.text
    gone = lead.post_form(BASE + "/cohorts/police_men/delete", {"confirm": "yes"},
                          token_from=BASE + "/cohorts/police_men/delete")  # fmt: skip
    assert gone.status_code == 303
    assert lead.get(BASE + "/cohorts/police_men").status_code == 404
    assert "Police men" not in lead.get(BASE).text
    assert "Police men" not in lead.get(BASE + "/export/cohorts.csv").text
    session.expire_all()
    actions = list(session.scalars(select(AuditEvent.action)))
    assert "insight.cohort.define" in actions and "insight.cohort.delete" in actions
    builtin = lead.get(BASE + "/cohorts/services3/delete")
    assert "cannot be deleted" in builtin.text
    refused = lead.post_form(BASE + "/cohorts/services3/delete", {"confirm": "yes"},
                             token_from=BASE + "/cohorts")  # fmt: skip
    assert refused.status_code == 400 and "built in" in refused.text
    assert lead.get(BASE + "/cohorts/services3").status_code == 200
