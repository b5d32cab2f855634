"""The audit log page: who did each thing, a filter on part of the action or of the actor,
and a detail that a keyboard reaches."""

from __future__ import annotations

import html
import re

from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.audit import AuditEvent
from joinedup.places.models import Place, User
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.factories import make_place, make_user

AUDIT = "/places/testville/audit"
_ROW = re.compile(r'<tr class="govuk-table__row">(.*?)</tr>', re.S)
_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)


def rows(page: str) -> list[list[str]]:
    """The audit table's body rows as lists of cell text (tags stripped)."""
    if '<tbody class="govuk-table__body">' not in page:
        assert "No entry matches the filter" in page
        return []
    body = page.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return [[" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in _CELL.findall(r)]
            for r in _ROW.findall(body)]


def _people(session: Session) -> tuple[Place, User, User]:
    place = make_place(session)
    lead = make_user(session, place, Role.LEAD)
    analyst = make_user(session, place, Role.ANALYST)
    session.commit()
    return place, lead, analyst


def _seed(session: Session, place: Place, analyst: User) -> None:
    for action, label, detail in (
        ("insight.view.person", analyst.email, {}),
        ("insight.export.links", analyst.email, {"rows": 12}),
        ("insight.cohort.define", analyst.email, {"needs": ["homelessness"], "min_needs": 1}),
        ("charter.changed", "someone@else.example", {"part": "questions"}),
        ("insight.purge", "command line (ops)", {"sources": ["housing"]}),
    ):
        audit.record(session, action, actor_label=label, place_id=place.id, subject="s",
                     detail=detail)
    session.commit()


def _actions(client: PageClient, **query: str) -> list[str]:
    page = client.get(AUDIT, params=query)
    assert page.status_code == 200
    return [r[1] for r in rows(page.text)]


def test_filter_matches_part_of_an_action_in_any_case(client: PageClient, session: Session) -> None:
    place, lead, analyst = _people(session)
    _seed(session, place, analyst)
    client.sign_in(lead.email)
    insight = _actions(client, action="insight")
    assert insight and all(a.startswith("insight.") for a in insight)
    assert set(insight) == {"insight.view.person", "insight.export.links",
                            "insight.cohort.define", "insight.purge"}
    assert _actions(client, action="EXPORT") == ["insight.export.links"]
    assert _actions(client, action="insight.view.person") == ["insight.view.person"]
    assert _actions(client, action="%") == []  # a wildcard typed in is a literal character
    assert _actions(client, action="nothing-like-this") == []


def test_filter_by_actor_and_by_both(client: PageClient, session: Session) -> None:
    place, lead, analyst = _people(session)
    _seed(session, place, analyst)
    client.sign_in(lead.email)
    by_analyst = _actions(client, actor=analyst.email.split("@")[0].upper())
    assert set(by_analyst) >= {"insight.view.person", "insight.export.links",
                               "insight.cohort.define"}
    assert "charter.changed" not in by_analyst
    assert _actions(client, actor="(ops)") == ["insight.purge"]
    # Roles given by the test factory (as by `joinedup users`) were given on the command line.
    assert set(_actions(client, actor="command line")) == {"insight.purge", "role.set"}
    assert _actions(client, actor="analyst", action="export") == ["insight.export.links"]
    page = client.get(AUDIT, params={"actor": "analyst", "action": "export"}).text
    assert 'value="analyst"' in page and 'value="export"' in page  # the form keeps the filter


def test_every_row_names_who_did_it(client: PageClient, session: Session) -> None:
    place, lead, analyst = _people(session)
    # Rows written before the actor's name was recorded (insight actions were) carry only
    # the account: the page shows that account.
    session.add(AuditEvent(action="insight.view.persons", actor_id=analyst.id, actor_label="",
                           place_id=place.id, subject="cohort:smd2", detail={}))
    session.commit()
    client.sign_in(lead.email)
    found = rows(client.get(AUDIT, params={"action": "insight.view.persons"}).text)
    assert [r[2] for r in found] == [analyst.email]
    by_account = _actions(client, actor=analyst.email)
    assert "insight.view.persons" in by_account  # and the actor filter finds it


def test_detail_is_a_details_element_a_keyboard_reaches(client: PageClient, session: Session) -> None:
    place, lead, analyst = _people(session)
    _seed(session, place, analyst)
    client.sign_in(lead.email)
    page = client.get(AUDIT).text
    with_detail = 4 + 2  # the seeded rows with a detail, and the two role.set rows
    assert page.count('<details class="govuk-details') == with_detail
    assert page.count("<summary") == with_detail
    # The table scrolls sideways on a narrow screen: its region takes focus, so a keyboard
    # can scroll it too.
    assert re.search(r'<div class="app-table-scroll" tabindex="0" role="region" aria-label="[^"]+"',
                     page)
    # The detail reads as words, not JSON.
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert "min needs: 1" in words and "needs: homelessness" in words
