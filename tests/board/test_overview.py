"""The state of collaboration: every headline figure on the overview equals the figure on its
own page (this test walks them), the period is one the disclosure policy allows, and the page
is for those who may read results."""

from __future__ import annotations

import re
import shutil
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import control_counts
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.link import link_place
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.quarterly import quarterly_demand
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect, open_store
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.surveys.rounds import create_round
from joinedup.synth.insight import generate_place
from joinedup.synth.surveys import _store, citizen_rows, readiness_rows
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

SLUG = "northbrook"
STATE = f"/places/{SLUG}/state"


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("state")
    generate_place(600, root / "extracts", seed=8)
    path = root / f"{SLUG}.duckdb"
    con = connect(path, memory_limit="1GB", threads=2)
    seed_reference(con)
    ingest_directory(con, root / "extracts")
    link_place(con, work_dir=root / "work")
    link_place(con, work_dir=root / "work")  # a second run, so the overview says what changed
    con.close()
    return path


@pytest.fixture
def place_with_everything(settings: Settings, session: Session, demo: DemoLike,  # noqa: F811
                          linked: Path) -> dict[str, int]:
    target = Path(settings.insight_dir)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(linked, target / f"{SLUG}.duckdb")
    place = get_place(session, SLUG)
    assert place is not None
    ready = create_round(session, place, instrument_key="readiness", title="Readiness 2026",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1))
    _store(session, ready, readiness_rows(place, 60, seed=3), ready.created_at)
    voice = create_round(session, place, instrument_key="citizen_voice", title="Residents 2026",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1),
                         areas={"North": 30_000, "South": 20_000})
    rows, _ = citizen_rows(300, seed=2, areas=["North", "South"])
    _store(session, voice, rows, voice.created_at)
    session.commit()
    return {"readiness": ready.id, "voice": voice.id}


def _figure(html: str, label: str) -> str:
    """The value shown beside a label in the overview's summary lists."""
    match = re.search(rf">{re.escape(label)}</dt>\s*<dd[^>]*><span[^>]*>([^<]+)</span>", html)
    assert match, f"{label!r} is not on the overview"
    return match.group(1).strip()


def _after(html: str, label: str) -> str:
    """The first figure shown after a label on another page, whatever markup wraps it."""
    start = html.index(label) + len(label)
    text = re.sub(r"<[^>]+>", " ", html[start:start + 2000])
    match = re.search(r"(£?[\d,]+(?:\.\d+)?%?|\*)", text)
    assert match, f"no figure after {label!r}"
    return match.group(1)


def test_every_headline_equals_its_own_page(
    client: PageClient, session: Session, place_with_everything: dict[str, int]
) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    page = client.get(STATE)
    assert page.status_code == 200
    html = page.text
    # People known to three or more services: the dashboard's headline.
    dashboard = client.get(f"/places/{SLUG}/insight").text
    three = _figure(html, "People known to three or more services")
    assert _after(dashboard, "Known to 3 or more services") == three
    # Their cost and who bears it: the figures of the three-or-more cohort's own page.
    year = re.search(r'<option value="(\d{4}-\d{2})" selected', html)
    assert year
    cohort = client.get(f"/places/{SLUG}/insight/cohorts/services3?year={year.group(1)}").text
    borne = re.findall(r">Borne by ([^<]+)</dt>\s*<dd[^>]*><span[^>]*>([^<]+)</span>", html)
    assert borne
    for partner, shown in borne:
        row = re.search(rf">{re.escape(partner.strip())}</th>(.*?)</tr>", cohort, re.S)
        assert row, f"{partner} is not in the cohort page's table of who bears the cost"
        tds = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in tds]
        on_page = cells[-1]  # partner | events | cost
        assert shown == ("Not shown" if on_page == "*" else on_page), (partner, cells)
    # Readiness: the round's own results page shows the same overall practice and gap.
    results = client.get(f"/places/{SLUG}/surveys/{place_with_everything['readiness']}/results").text
    practice = _figure(html, "Practice, all staff").split(" (")[0]
    gap = _figure(html, "Gap between ambition and practice").split(" (")[0]
    assert re.search(rf">\s*{practice}\b", results) and re.search(rf">\s*{gap}\b", results)
    # Residents: each measure's weighted share as on the round's results page.
    voice = client.get(f"/places/{SLUG}/surveys/{place_with_everything['voice']}/results").text
    share = _figure(html, "Treated with dignity and respect always or often").split(" (")[0]
    assert share in voice
    # Collaborations: as many as the collaborations page lists.
    count = int(_figure(html, "Collaborations"))
    listed = client.get(f"/places/{SLUG}/collaborations").text
    slugs = set(re.findall(rf'href="/places/{SLUG}/collaborations/([a-z0-9-]+)"', listed)) - {"new"}
    assert count == len(slugs)
    # What changed since the previous linkage run: controlled for the lead, no link to the
    # person-level run page; for an analyst, exactly the run page's counts, linked to it.
    merged, split = (_figure(html, f"Persons {k} since the previous run") for k in ("merged", "split"))
    assert f"/places/{SLUG}/insight/runs/" not in html
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    mine = client.get(STATE).text
    run = re.search(rf'href="(/places/{SLUG}/insight/runs/\d+)"', mine)
    assert run, "the analyst's headline links to the run page"
    run_page = client.get(run.group(1)).text
    for kind, controlled_value in (("merged", merged), ("split", split)):
        exact = _figure(mine, f"Persons {kind} since the previous run")
        assert _after(run_page, f"Persons {kind} since the last run") == exact
        rule = DisclosureRule.for_place(get_place(session, SLUG))
        expected = control_counts([int(exact.replace(",", ""))], rule)[0]
        assert controlled_value == ("Not shown" if expected is None else f"{expected:,}")


def _quarter_table(html: str, caption: str) -> dict[str, list[str]]:
    """A quarter table's rows as shown: the row's heading → its cells' text."""
    start = html.index(f">{caption}</caption>")
    body = html[start:html.index("</table>", start)]
    rows: dict[str, list[str]] = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]:
        head = re.search(r"<th[^>]*>(.*?)</th>", row, re.S)
        assert head
        tds = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in tds]
        rows[unescape(re.sub(r"<[^>]+>", "", head.group(1))).strip()] = cells
    return rows


def test_quarters_are_controlled_for_the_lead_and_exact_for_the_analyst(
    client: PageClient, session: Session, settings: Settings, place_with_everything: dict[str, int]
) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert f'href="{STATE}/quarters"' in client.get(STATE).text, "the overview links to the quarters"
    lead = client.get(f"{STATE}/quarters")
    assert lead.status_code == 200 and "controlled together" in lead.text
    assert f'href="/places/{SLUG}/insight"' in lead.text  # the evidence: the dashboard's years
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    analyst = client.get(f"{STATE}/quarters")
    assert analyst.status_code == 200 and "exact figures" in analyst.text
    place = get_place(session, SLUG)
    ctx = PlaceContext(SLUG, rule=DisclosureRule.for_place(place))
    with open_store(Path(settings.insight_dir), SLUG) as con:
        shown, exact = quarterly_demand(con, ctx), quarterly_demand(con, ctx, exact=True)

    def text(value: float | None, money: bool = False) -> str:
        if value is None:
            return "*"
        return f"£{value:,.0f}" if money else f"{int(value):,}"

    for html, figures in ((lead.text, shown), (analyst.text, exact)):
        events = _quarter_table(html, "Events by service and quarter")
        costs = _quarter_table(html, "Cost by service and quarter")
        for row in figures.services:
            name = f"{row.label} ({row.partner})"
            assert events[name] == [text(c.events) for c in row.cells], name
            assert costs[name] == [text(c.cost, money=True) for c in row.cells], name
        cohorts = _quarter_table(html, "Events by cohort and quarter")
        assert cohorts["Known to three or more services"] == [
            text(c.events) for c in next(r for r in figures.cohorts if r.key == "services3").cells
        ]
    # The lead's figures are controlled (something is hidden or rounded), the analyst's exact.
    assert any(c.events is None or c.events % 5 == 0 for r in shown.services for c in r.cells)
    assert any(c.events is not None and c.events % 5 for r in exact.services for c in r.cells)
    assert all(c.events is not None for r in exact.services for c in r.cells)


def test_only_whole_financial_years(client: PageClient, place_with_everything: dict[str, int]) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    bad = client.get(f"{STATE}?year=2024-01-01")
    assert bad.status_code == 400 and "Choose one of the financial years with data" in bad.text
    assert client.get(f"{STATE}?from=2024-05-01&to=2024-06-01").status_code == 200  # ignored


def test_viewers_cannot_read_the_state(client: PageClient, place_with_everything: dict[str, int]) -> None:
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    assert client.get(STATE).status_code == 403
    assert client.get(f"{STATE}/board-pack.pdf").status_code == 403


def test_a_place_with_nothing_yet_says_so(client: PageClient, demo: DemoLike) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    page = client.get(STATE)
    assert page.status_code == 200
    assert "No linked records yet" in page.text and "No readiness round" in page.text


@pytest.mark.browser
def test_the_board_pack_pdf_is_a4_with_text_and_whole_tables(
    client: PageClient, session: Session, place_with_everything: dict[str, int], tmp_path: Path
) -> None:
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext is missing: scripts/system-deps.sh installs poppler-utils")
    import subprocess

    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    response = client.get(f"{STATE}/board-pack.pdf")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(response.content)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    sizes = subprocess.run(["pdfinfo", "-f", "1", "-l", str(pages), str(pdf)], capture_output=True,
                           text=True, check=True).stdout
    assert sizes.count("(A4)") == pages >= 1
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "State of collaboration in Northbrook" in text and "Disclosure control" in text
    # No table is cut: every column heading of every table in the HTML is in the PDF's text.
    html = client.get(f"{STATE}/board-pack").text
    headings = re.findall(r'<th scope="col" class="govuk-table__header[^"]*"[^>]*>\s*([^<]+?)\s*</th>', html)
    assert any(re.fullmatch(r"Q[1-4] \d{4}-\d{2}", h) for h in headings), "the pack has its quarters"
    for heading in headings:
        for word in heading.split():
            assert word in text, f"column {heading!r} is missing from the PDF"
    # The download is audited.
    entry = session.scalars(select(AuditEvent).where(AuditEvent.action == "board_pack.downloaded")).first()
    assert entry is not None


@pytest.mark.browser
def test_the_readiness_report_prints_every_column_on_a4(
    client: PageClient, settings: Settings, place_with_everything: dict[str, int], tmp_path: Path
) -> None:
    """Issue 11: printed, the readiness report used to lose its gap, change and partner
    columns off the edge of the page."""
    import subprocess

    from joinedup.board.pdf import html_to_pdf
    from joinedup.web.routers.board import STATIC_DIR

    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    html = client.get(f"/places/{SLUG}/surveys/{place_with_everything['readiness']}/report").text
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(html_to_pdf(html, STATIC_DIR, settings.chromium))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    headings = re.findall(r'<th scope="col" class="govuk-table__header[^"]*"[^>]*>([^<]+)</th>', html)
    assert headings
    for heading in headings:
        for word in heading.split():
            assert word in text, f"column {heading!r} is missing from the printed report"


def _row_cells(html: str, caption: str) -> dict[str, list[str]]:
    """A table's rows by their header cell, as text: the table found by its caption."""
    start = html.index(caption)
    table = html[start:html.index("</table>", start)]
    rows: dict[str, list[str]] = {}
    for head, body in re.findall(r'<th scope="row"[^>]*>(.*?)</th>(.*?)</tr>', table, re.S):
        tds = re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in tds]
        rows[unescape(re.sub(r"<[^>]+>", "", head)).strip()] = cells
    return rows


def test_readiness_components_round_by_round_equal_each_rounds_page(
    client: PageClient, session: Session, place_with_everything: dict[str, int]
) -> None:
    place = get_place(session, SLUG)
    assert place is not None
    later = create_round(session, place, instrument_key="readiness", title="Readiness 2027",
                         opens_on=date(2027, 1, 1), closes_on=date(2027, 2, 1))
    _store(session, later, readiness_rows(place, 80, seed=4, uplift=6.0), later.created_at)
    session.commit()
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    html = client.get(STATE).text
    table = _row_cells(html, "Readiness by component, round by round")
    assert len(table) == 12, sorted(table)  # one row per component of the framework
    for column, round_id in enumerate((place_with_everything["readiness"], later.id)):
        own = _row_cells(client.get(f"/places/{SLUG}/surveys/{round_id}/results").text,
                         "Scores by component")
        for component, cells in table.items():
            practice = own[component][2]  # strand | ambition | practice | ...
            shown = cells[column]
            if shown == "Not shown":
                assert not re.match(r"\d", practice), (component, practice)
            else:
                assert shown.split(" (")[0] == practice.split(" ")[0].split("(")[0].strip(), (
                    component, shown, practice)
