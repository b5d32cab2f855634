"""Insight pages: analysts upload, check, link and see person-level data (audited);
partners and viewers see only disclosure-controlled aggregates."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import explain_dir, ingest_directory
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.synth.insight import generate_place
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

SLUG = "northbrook"


@pytest.fixture(scope="module")
def linked_place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linked synthetic Northbrook, built once and copied into each test's data dir."""
    root = tmp_path_factory.mktemp("insight-web")
    generate_place(500, root / "extracts", seed=11)
    con = connect(root / "insight" / f"{SLUG}.duckdb", memory_limit="1GB", threads=2)
    seed_reference(con)
    ingest_directory(con, root / "extracts")
    link_place(con, work_dir=root / "work", explain_dir=root / "insight" / f"{SLUG}-explain")
    con.close()
    return root


@pytest.fixture
def insight(settings: Settings, demo: DemoLike, linked_place: Path) -> Path:  # noqa: F811
    target = Path(settings.insight_dir)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(linked_place / "insight" / f"{SLUG}.duckdb", target / f"{SLUG}.duckdb")
    shutil.copytree(linked_place / "insight" / f"{SLUG}-explain", explain_dir(settings, SLUG))
    return linked_place


def _as(client: PageClient, role: Role) -> PageClient:
    client.sign_in(email_for(role), DEMO_PASSWORD)
    return client


def _audit_actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action)))


BASE = f"/places/{SLUG}/insight"
_COUNT_CELL = re.compile(r'govuk-table__cell--numeric">([^<]*)<')


def test_partner_sees_only_controlled_aggregates(client: PageClient, insight: Path) -> None:
    _as(client, Role.PARTNER)
    page = client.get(BASE)
    assert page.status_code == 200
    assert "Known to 3 or more services" in page.text
    assert "Counts from 1 to 7 are suppressed" in page.text
    for cell in _COUNT_CELL.findall(page.text):
        text = cell.strip().replace(",", "").replace("£", "")
        if text in {"*", "–"} or "." in text or text.endswith("%") or cell.startswith("£"):
            continue  # money is rounded to 5 × its unit cost, then to £100
        assert int(text) % 5 == 0, cell
    assert "/export/links.csv" not in page.text and "/explain/" not in page.text
    for path in ("/persons", "/persons/P00000001", "/export/links.csv", "/explain/match_weights.html",
                 "/upload", "/runs"):  # fmt: skip
        assert client.get(BASE + path).status_code == 403, path
    svg = client.get(BASE + "/charts/overlaps.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text
    years = re.findall(r'<option value="(\d{4}-\d{2})"', client.get(BASE).text)
    period = client.get(BASE + f"?year={years[-1]}")
    assert period.status_code == 200 and f"Demand on each service in {years[-1]}" in period.text
    bad_period = client.get(BASE + "?year=yesterday")
    assert "Choose one of the financial years with data" in bad_period.text
    csv = client.get(BASE + "/export/costs.csv")
    assert csv.status_code == 200 and csv.text.startswith("cohort,label,partner")


def test_the_expected_count_is_shown_rounded_and_only_for_the_whole_place(
    client: PageClient, insight: Path
) -> None:
    _as(client, Role.PARTNER)
    page = client.get(BASE)
    found = re.search(r"it expects about <strong>([\d,]+)</strong> persons known to 3 or more", page.text)
    assert found and int(found.group(1).replace(",", "")) % 5 == 0
    assert "How the expected figure is worked out" in page.text
    assert "/review" not in page.text  # the review queue is offered to analysts only
    partner = re.search(r'<select[^>]*name="partner".*?<option value="([^"]+)"', page.text, re.S)
    assert partner, "the dashboard offers partners to filter by"
    filtered = client.get(BASE + f"?partner={partner.group(1)}")
    assert filtered.status_code == 200 and "Every figure below is of these persons only" in filtered.text
    assert "it expects about" not in filtered.text


def test_viewer_sees_dashboard_and_sources(client: PageClient, insight: Path) -> None:
    _as(client, Role.VIEWER)
    assert client.get(BASE).status_code == 200
    page = client.get(BASE + "/sources")
    assert page.status_code == 200 and "Legal basis" in page.text
    assert client.get(BASE + "/cohorts").status_code == 403


def test_analyst_person_level_views_are_audited(client: PageClient, insight: Path, session: Session) -> None:
    _as(client, Role.ANALYST)
    page = client.get(BASE)
    assert "/explain/cluster_studio.html" in page.text
    persons = client.get(BASE + "/persons?cohort=smd2")
    assert persons.status_code == 200
    person_id = re.search(r"/persons/(P\d{8})", persons.text)
    assert person_id
    assert client.get(BASE + f"/persons/{person_id.group(1)}").status_code == 200
    links = client.get(BASE + "/export/links.csv")
    assert links.text.startswith("source,record_id,person_id")
    client.check_pages = False  # Splink's own page, served sandboxed, not one of ours
    explain = client.get(BASE + "/explain/match_weights.html")
    client.check_pages = True
    assert explain.status_code == 200 and "sandbox" in explain.headers["content-security-policy"]
    actions = _audit_actions(session)
    for action in ("insight.view.persons", "insight.view.person", "insight.export.links",
                   "insight.view.explanation"):  # fmt: skip
        assert action in actions


def test_analyst_uploads_sees_report_and_links(
    client: PageClient, insight: Path, settings: Settings, session: Session
) -> None:
    _as(client, Role.ANALYST)
    extracts = insight / "extracts"
    token = client.csrf(BASE + "/upload")
    bad = client.post(
        BASE + "/upload",
        data={"csrf_token": token},
        files={"extract": ("police.csv", b"", "text/csv"),
               "mapping_file": ("police_custody.toml",
                                (extracts / "police_custody.toml").read_bytes(), "text/plain")},
    )  # fmt: skip
    assert bad.status_code == 400 and "the file is empty" in bad.text
    good = client.post(
        BASE + "/upload",
        data={"csrf_token": token, "source": "police_custody_2"},
        files={"extract": ("police.csv", (extracts / "police_custody.csv").read_bytes(), "text/csv"),
               "mapping_file": ("police_custody.toml",
                                (extracts / "police_custody.toml").read_bytes(), "text/plain")},
        follow_redirects=False,
    )  # fmt: skip
    assert good.status_code == 303
    report = client.get(good.headers["location"])
    assert report.status_code == 200 and "Validation report" in report.text
    assert "insight.upload" in _audit_actions(session)

    started = client.post_form(BASE + "/link", token_from=BASE + "/runs")
    assert started.status_code == 303
    run_url = started.headers["location"]
    deadline = time.monotonic() + 60
    page = client.get(run_url)
    while "Linking finished" not in page.text and time.monotonic() < deadline:
        assert "Linking failed" not in page.text
        assert 'http-equiv="refresh"' not in page.text  # a script polls; a link refreshes by hand
        time.sleep(0.5)
        page = client.get(run_url)
    assert "Linking finished" in page.text
    assert client.get(BASE).status_code == 200


def test_the_runs_page_says_how_records_are_joined_here(
    client: PageClient, insight: Path, settings: Settings
) -> None:
    from joinedup.insight import name_and_date, review

    _as(client, Role.ANALYST)
    text = re.sub(r"\s+", " ", client.get(BASE + "/runs").text)
    assert "How records are joined here" in text and "at a match probability of 90% or more" in text
    assert "Pairs scored between 50% and 95% are offered for review" in text
    assert "Each joins the one person whose records agree with it, if only one does" in text
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        review.set_band(con, 0.4, 0.999)
        name_and_date.set_rule(con, False)
    finally:
        con.close()
    text = re.sub(r"\s+", " ", client.get(BASE + "/runs").text)
    assert "Pairs scored between 40% and 99.9% are offered for review" in text
    assert "Each is left on its own unless a pair reaches the threshold (this place turned the rule" in text


def test_define_cohort_and_edit_unit_cost(client: PageClient, insight: Path) -> None:
    _as(client, Role.LEAD)
    page = client.get(BASE + "/cohorts")
    assert page.status_code == 200 and "Define a cohort" in page.text
    bad = client.post_form(BASE + "/cohorts", {"name": "", "min_needs": "x"},
                           token_from=BASE + "/cohorts")  # fmt: skip
    assert bad.status_code == 400 and "Enter a name" in bad.text
    token = client.csrf(BASE + "/cohorts")
    ok = client.post(
        BASE + "/cohorts",
        data={"csrf_token": token, "name": "Mental health and offending",
              "needs": ["mental_health", "offending"], "min_needs": "2"},
        follow_redirects=False,
    )  # fmt: skip
    assert ok.status_code == 303
    assert "Mental health and offending" in client.get(BASE + "/cohorts").text
    costs = client.post_form(BASE + "/costs", {"code": "HO3.0", "cost_gbp": "3000",
                                               "price_year": "2024-25"},
                             token_from=BASE + "/costs")  # fmt: skip
    assert costs.status_code == 303
    wrong = client.post_form(BASE + "/costs", {"code": "X", "cost_gbp": "3",
                                               "price_year": "1999-00"},
                             token_from=BASE + "/costs")  # fmt: skip
    assert wrong.status_code == 400 and "no deflator" in wrong.text
    deflator = client.post_form(BASE + "/costs/deflators", {"financial_year": "2027-28", "index": "107.4"},
                                token_from=BASE + "/costs")  # fmt: skip
    assert deflator.status_code == 303
    assert "2027-28" in client.get(BASE + "/costs").text
    bad_deflator = client.post_form(BASE + "/costs/deflators", {"financial_year": "x", "index": "-1"},
                                    token_from=BASE + "/costs")  # fmt: skip
    assert bad_deflator.status_code == 400 and "positive number" in bad_deflator.text


def test_empty_place_dashboard(client: PageClient, demo: DemoLike) -> None:  # noqa: F811
    _as(client, Role.ANALYST)
    page = client.get(BASE)
    assert page.status_code == 200 and "no linked insight" in page.text
