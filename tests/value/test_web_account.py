"""The public value account as users meet it: set up, computed, read by every role, printed,
exported, out of date after a change, and tied to the charter."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DemoLike
from tests.support.value_place import (  # noqa: F401  (fixtures)
    ACCOUNT,
    COLLAB,
    PROGRAMME_SIZE,
    SLUG,
    programme_store,
    set_up_account,
    sign_in_as,
    value_place,
)

CHARTER = f"/places/{SLUG}/collaborations/{COLLAB}"


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action)))


def test_a_lead_reads_the_account_with_comparison_matrix_and_sensitivity(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    assert "value.compute" in _actions(session)
    sign_in_as(client, Role.LEAD)
    page = client.get(ACCOUNT)
    assert page.status_code == 200
    text = page.text
    # The account in plain words at the top, for the published (rounded) number of people.
    assert re.search(r"For 15[05] people, .+ a quarter more than for similar people", text), text[:3000]
    assert "against" in text and "spent" in text
    for heading in (
        "What changed",
        "How alike the groups are",
        "What it is worth",
        "Who pays and who gains",
        "How sure we can be",
        "Every assumption and its source",
    ):
        assert heading in text, heading
    assert "Proposed gain-share" in text and "Northbrook Borough Council" in text
    assert "random draws" in text and "Tornado chart" in text
    assert "recalled, not verified" in text  # the optimism-bias table is flagged
    assert "Exact figures, shown to analysts" not in text
    assert f"{PROGRAMME_SIZE}" not in re.sub(r"<[^>]+>", " ", text).split()  # never the exact size
    for name in ("effects", "matrix", "tornado"):
        svg = client.get(f"{ACCOUNT}/charts/{name}.svg")
        assert svg.status_code == 200 and svg.text.lstrip().startswith("<svg"), name
    # The charter links to the account, in its fourth question too.
    charter = client.get(CHARTER)
    assert charter.text.count(f"{CHARTER}/value") >= 2


def test_an_analyst_reads_exact_figures_and_the_programme_people_audited(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    page = client.get(ACCOUNT)
    assert "Exact figures, shown to analysts" in page.text
    assert f"For {PROGRAMME_SIZE} people" in page.text
    assert "value.view.programme" not in _actions(session)
    people = client.get(ACCOUNT + "/programme")
    assert people.status_code == 200
    assert people.text.count("/insight/persons/P") == PROGRAMME_SIZE
    assert "value.view.programme" in _actions(session)
    for role in (Role.LEAD, Role.PARTNER, Role.VIEWER):
        sign_in_as(client, role)
        assert client.get(ACCOUNT + "/programme").status_code == 403, role
        assert "/value/programme" not in client.get(ACCOUNT).text


def test_everyone_reads_but_only_leads_and_analysts_change_and_recompute(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    for role in (Role.PARTNER, Role.VIEWER):
        sign_in_as(client, role)
        assert client.get(ACCOUNT).status_code == 200
        assert client.get(ACCOUNT + "/print").status_code == 200
        assert client.get(ACCOUNT + "/settings").status_code == 403
        assert client.post_form(ACCOUNT + "/recompute", token_from=ACCOUNT).status_code == 403
        assert "Recompute" not in client.get(ACCOUNT).text
    sign_in_as(client, Role.LEAD)
    assert client.get(ACCOUNT + "/settings").status_code == 200
    assert client.get(ACCOUNT + "/settings/costs").status_code == 200
    # Who is counted is for analysts: a lead cannot change the programme or the measures.
    assert client.get(ACCOUNT + "/settings/programme").status_code == 403
    assert client.get(ACCOUNT + "/settings/measures/new").status_code == 403


def test_the_page_says_when_the_account_is_out_of_date_and_recompute_brings_it_up_to_date(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    sign_in_as(client, Role.LEAD)
    assert "out of date" not in client.get(ACCOUNT).text
    form = client.get(ACCOUNT + "/settings/parameters").text
    values = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', form))
    values.pop("csrf_token", None)
    values.update(discount_rate="3", gain_share_rule="contribution")
    r = client.post_form(ACCOUNT + "/settings/parameters", values, token_from=ACCOUNT + "/settings")
    assert r.status_code == 303, r.text
    page = client.get(ACCOUNT).text
    assert "out of date: the settings have changed since it was computed" in page
    assert client.post_form(ACCOUNT + "/recompute", token_from=ACCOUNT).status_code == 303
    page = client.get(ACCOUNT).text
    assert "out of date" not in page and "3.0% a year" in page


def test_print_view_and_csv_exports(client: PageClient, session: Session, value_place: DemoLike) -> None:  # noqa: F811
    set_up_account(client, session)
    sign_in_as(client, Role.VIEWER)
    printed = client.get(ACCOUNT + "/print")
    assert printed.status_code == 200 and "app-charter-print" in printed.text
    assert "Who pays and who gains" in printed.text and "Figures are disclosure-controlled" in printed.text
    for name in ("measures", "balance", "steps", "matrix", "gain_share", "sensitivity", "assumptions"):
        r = client.get(f"{ACCOUNT}/export/{name}.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), name
        assert f"{COLLAB}-value-{name}.csv" in r.headers["content-disposition"]
        assert len(r.text.splitlines()) >= 2, name
    assert client.get(f"{ACCOUNT}/export/people.csv").status_code == 404


def test_a_charter_measure_tied_to_the_account_shows_its_measured_value_and_progress(
    client: PageClient, session: Session, value_place: DemoLike  # noqa: F811
) -> None:
    set_up_account(client, session)
    sign_in_as(client, Role.LEAD)
    form = client.get(ACCOUNT + "/settings/charter").text
    first = re.search(r'name="tie-(\d+)"', form)
    assert first
    mid = first.group(1)
    r = client.post_form(
        ACCOUNT + "/settings/charter",
        {f"tie-{mid}": "ae_attendances", f"per-{mid}": "year"},
        token_from=ACCOUNT + "/settings",
    )
    assert r.status_code == 303, r.text
    sign_in_as(client, Role.VIEWER)
    charter = client.get(CHARTER).text
    assert re.search(
        r"Measured: \d+\.\d\d per person per year after joining, -?\d+% of the way from baseline", charter
    )


def test_exports_neutralise_formulas_in_names(client: PageClient, session: Session,
                                              value_place: DemoLike) -> None:  # noqa: F811
    """The CSV walk of tests/web/test_csv_routes.py for the account's exports: names a partner
    or programme could carry (here planted in the stored account) never reach a spreadsheet
    as formulas."""
    from joinedup.value.models import ValueResult
    from tests.web.test_csv_routes import HYPERLINK, dangerous

    set_up_account(client, session)
    session.expire_all()
    result = session.scalars(select(ValueResult)).one()
    published = dict(result.published)
    published["programme_name"] = HYPERLINK
    published["matrix"] = [{**row, "name": HYPERLINK} for row in published["matrix"]]
    published["measures"] = [{**m, "label": "+" + str(m.get("label"))} for m in published["measures"]]
    result.published = published
    session.commit()
    sign_in_as(client, Role.VIEWER)
    for name in ("measures", "matrix", "steps", "assumptions"):
        text = client.get(f"{ACCOUNT}/export/{name}.csv").text
        cells = [cell for line in text.splitlines() for cell in line.split(",")]
        assert not any(dangerous(cell.strip('"')) for cell in cells), (name, text[:400])
        if name == "matrix":
            assert "HYPERLINK" in text  # the planted name is there, made harmless
