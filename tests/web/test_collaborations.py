"""Collaboration and charter pages: every page, every form's good and bad input, history, print."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.collaborations.models import CharterRevision, Collaboration
from joinedup.places.models import Partner
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

PARTS = ("questions", "partners", "measures", "risks", "resources", "status")


def _base(d: DemoLike) -> str:
    return f"/places/{d.place_slug}/collaborations"


def _revisions(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count(CharterRevision.id))) or 0)


def _partner_id(session: Session, name: str) -> int:
    found = session.scalar(select(Partner.id).where(Partner.name == name))
    assert found is not None
    return int(found)


def _first_partner_id(session: Session) -> int:
    """The partner listed first on a partners page (the place's partners by name)."""
    found = session.scalar(select(Partner.id).order_by(Partner.name).limit(1))
    assert found is not None
    return int(found)


def _collab(session: Session, slug: str) -> Collaboration:
    session.expire_all()
    found = session.scalar(select(Collaboration).where(Collaboration.slug == slug))
    assert found is not None
    return found


@pytest.fixture
def lead(client: PageClient, demo: DemoLike) -> PageClient:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    return client


def _error_named(response, field: str, message: str) -> None:
    """A GOV.UK error: in the summary, linking to the field, and inline by the field."""
    assert response.status_code == 400, response.status_code
    assert "govuk-error-summary" in response.text
    assert f'href="#{field}"' in response.text, f"no summary link to #{field}"
    assert message in response.text
    assert 'class="govuk-error-message"' in response.text
    assert response.text.startswith("<!DOCTYPE html>") and "<title>Error: " in response.text


def test_list_shows_each_collaboration_with_its_status(lead, demo) -> None:  # noqa: F811
    page = lead.get(_base(demo))
    assert page.status_code == 200
    assert "Fulfilling lives in Northbrook" in page.text and "Winter pressures 2025" in page.text
    assert "govuk-tag--green" in page.text and "govuk-tag--grey" in page.text
    assert "Start a collaboration" in page.text


def test_every_charter_page_answers(lead, demo) -> None:  # noqa: F811
    for slug in demo.collaboration_slugs:
        base = f"{_base(demo)}/{slug}"
        for path in ("", "/history", "/print", *(f"/edit/{p}" for p in PARTS)):
            assert lead.get(base + path).status_code == 200, base + path


def test_charter_page_shows_the_four_questions(lead, demo) -> None:  # noqa: F811
    page = lead.get(f"{_base(demo)}/fulfilling-lives-in-northbrook")
    for text in ("1. What is the problem?", "2. What is the shared goal?",
                 "3. What does each partner offer or give up?",
                 "4. How will the public value added be accounted for?",
                 "Emergency department attendances per person per year", "£450,000",
                 "Signed up by Director of Housing on 2 June 2025"):
        assert text in page.text, text
    assert page.text.count(">Change<") == 6


def test_viewer_reads_but_is_offered_no_change_links(client, demo) -> None:  # noqa: F811
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    page = client.get(f"{_base(demo)}/fulfilling-lives-in-northbrook")
    assert page.status_code == 200 and ">Change<" not in page.text
    assert "Start a collaboration" not in client.get(_base(demo)).text


def test_unknown_collaboration_is_not_found(lead, demo) -> None:  # noqa: F811
    assert lead.get(f"{_base(demo)}/no-such-thing").status_code == 404
    assert lead.get(f"{_base(demo)}/no-such-thing/edit/questions").status_code == 404
    assert lead.get(f"{_base(demo)}/fulfilling-lives-in-northbrook/edit/nothing").status_code == 404


def test_start_a_collaboration_and_write_its_charter(lead, demo, session) -> None:  # noqa: F811
    base = _base(demo)
    created = lead.post_form(base + "/new", {"name": "Safer streets"}, token_from=base)
    assert created.status_code == 303
    url = f"{base}/safer-streets"
    assert created.headers["location"] == url + "/edit/questions"
    assert "Collaboration started" in lead.get(url + "/edit/questions").text

    ok = lead.post_form(url + "/edit/questions", {"name": "Safer streets", "problem": "Too many thefts",
                                                 "shared_goal": "Fewer thefts",
                                                 "value_accounting": "Police recorded crime"}, token_from=url)
    assert ok.status_code == 303 and ok.headers["location"] == url
    assert "The four questions saved as revision 2" in lead.get(url).text

    assert "Northshire Police is taking part" in lead.get(url + "/edit/partners").text
    council = _partner_id(session, "Northbrook Borough Council")
    police = _partner_id(session, "Northshire Police")
    ok = lead.post_form(url + "/edit/partners", {
        f"partners-{council}-included": "yes", f"partners-{council}-offers": "CCTV",
        f"partners-{police}-included": "yes", f"partners-{police}-offers": "Patrols",
        f"partners-{police}-gives_up": "Arrest targets", f"partners-{police}-signed_by": "Chief Inspector",
        f"partners-{police}-signed_on-day": "1", f"partners-{police}-signed_on-month": "9",
        f"partners-{police}-signed_on-year": "2025",
    }, token_from=url)
    assert ok.status_code == 303

    ok = lead.post_form(url + "/edit/measures", {
        "measures-0-name": "Thefts a month", "measures-0-baseline": "120", "measures-0-target": "80",
        "measures-0-check_on-day": "31", "measures-0-check_on-month": "3", "measures-0-check_on-year": "2027",
        "then": "add",
    }, token_from=url)
    assert ok.status_code == 303 and ok.headers["location"] == url + "/edit/measures"
    again = lead.get(url + "/edit/measures").text
    assert 'value="Thefts a month"' in again and "Add an outcome measure" in again

    ok = lead.post_form(url + "/edit/risks", {"risks-0-description": "Displacement",
                                             "risks-0-how_held": "Joint patrol plan"}, token_from=url)
    assert ok.status_code == 303
    c = _collab(session, "safer-streets")
    police_id = next(p.partner_id for p in c.partners if p.partner.name == "Northshire Police")
    ok = lead.post_form(url + "/edit/resources", {
        "resources-0-kind": "staff", "resources-0-description": "Two officers",
        "resources-0-partner_id": str(police_id), "resources-0-amount": "",
    }, token_from=url)
    assert ok.status_code == 303
    ok = lead.post_form(url + "/edit/status", {"status": "active"}, token_from=url)
    assert ok.status_code == 303

    c = _collab(session, "safer-streets")
    assert c.status == "active" and len(c.partners) == 2 and len(c.measures) == 1
    assert [r.number for r in c.revisions] == [1, 2, 3, 4, 5, 6, 7]
    history = lead.get(url + "/history").text
    assert "Revision 7" in history and "Status" in history and "Priya Shah" in history
    printed = lead.get(url + "/print").text
    assert "Thefts a month" in printed and "app-print-only" in printed
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "charter.changed",
                                                      AuditEvent.subject == "safer-streets")).all()
    assert len(events) == 7 and {e.actor_label for e in events} == {email_for(Role.LEAD)}


def test_bad_new_name_is_named_and_nothing_made(lead, demo, session) -> None:  # noqa: F811
    before = _revisions(session)
    response = lead.post_form(_base(demo) + "/new", {"name": "Winter pressures 2025"}, token_from=_base(demo))
    _error_named(response, "name", "There is already a collaboration with this name in this place")
    assert _revisions(session) == before


BAD_INPUT = [
    ("questions", {"name": "Fulfilling lives in Northbrook", "problem": "", "shared_goal": "x",
                   "value_accounting": "y"}, "problem", "Enter the problem the collaboration tackles"),
    ("questions", {"name": "", "problem": "x", "shared_goal": "x", "value_accounting": "y"},
     "name", "Enter the collaboration&#39;s name"),
    ("measures", {"measures-0-name": "Visits", "measures-0-baseline": "6", "measures-0-target": "3",
                  "measures-0-check_on-day": "31", "measures-0-check_on-month": "2",
                  "measures-0-check_on-year": "2027"},
     "measures-0-check_on-day", "The date measure 1 will be checked must be a real date"),
    ("measures", {"measures-0-remove": "yes", "measures-1-remove": "yes"},
     "measures-0-name", "Enter at least 1 outcome measure"),
    ("risks", {"risks-0-description": "Overspend", "risks-0-how_held": ""},
     "risks-0-how_held", "Enter how the partners hold risk 1 together"),
    ("resources", {"resources-0-kind": "money", "resources-0-description": "Budget",
                   "resources-0-amount": "a lot"}, "resources-0-amount",
     "The amount for resource 1 must be a whole number of pounds"),
    ("resources", {"resources-0-kind": "", "resources-0-description": "Budget"}, "resources-0-kind",
     "Select what kind of resource resource 1 is"),
    ("status", {}, "status", "Select the collaboration&#39;s status"),
    ("partners", {}, "partners-FIRST-included", "Select at least 2 partners"),
]


@pytest.mark.parametrize(("part", "form", "field", "message"), BAD_INPUT)
def test_bad_input_is_named_and_changes_nothing(lead, demo, session, part, form, field, message) -> None:  # noqa: F811
    url = f"{_base(demo)}/fulfilling-lives-in-northbrook"
    before_revisions = _revisions(session)
    before = _snapshot(session)
    field = field.replace("FIRST", str(_first_partner_id(session)))
    response = lead.post_form(f"{url}/edit/{part}", form, token_from=url)
    _error_named(response, field, message)
    assert _revisions(session) == before_revisions
    assert _snapshot(session) == before


def _snapshot(session: Session) -> dict:
    from joinedup.collaborations import charters

    return charters.draft_of(_collab(session, "fulfilling-lives-in-northbrook")).snapshot()


def test_bad_partner_date_keeps_what_was_typed(lead, demo, session) -> None:  # noqa: F811
    url = f"{_base(demo)}/northbrook-domestic-abuse-partnership"
    p = f"partners-{_partner_id(session, 'Brookside Homes')}"
    response = lead.post_form(url + "/edit/partners", {
        f"{p}-included": "yes", f"{p}-offers": "Typed text", f"{p}-signed_by": "Someone",
        f"{p}-signed_on-day": "40", f"{p}-signed_on-month": "1", f"{p}-signed_on-year": "2025",
    }, token_from=url)
    assert response.status_code == 400
    assert "Typed text" in response.text and 'value="40"' in response.text
    assert f'href="#{p}-signed_on-day"' in response.text


def test_removing_a_partner_that_pools_a_resource_is_refused(lead, demo, session) -> None:  # noqa: F811
    url = f"{_base(demo)}/winter-pressures-2025"
    # Keep only the trust and the council: the ICB funds the step-down beds.
    form = {}
    for name in ("Northbrook and Vale NHS Foundation Trust", "Northbrook Borough Council"):
        i = _partner_id(session, name)
        form |= {f"partners-{i}-included": "yes", f"partners-{i}-offers": "x"}
    response = lead.post_form(url + "/edit/partners", form, token_from=url)
    assert response.status_code == 400
    assert "Northbrook and Vale Integrated Care Board pools a resource" in response.text


def test_saving_unchanged_makes_no_revision(lead, demo, session) -> None:  # noqa: F811
    url = f"{_base(demo)}/winter-pressures-2025"
    before = _revisions(session)
    response = lead.post_form(url + "/edit/status", {"status": "closed"}, token_from=url)
    assert response.status_code == 303
    assert "No changes to save" in lead.get(url).text
    assert _revisions(session) == before


def test_forged_charter_form_is_refused(lead, demo, session) -> None:  # noqa: F811
    url = f"{_base(demo)}/winter-pressures-2025"
    lead.get(url)
    before = _revisions(session)
    forged = lead.post(url + "/edit/status", data={"status": "forming"}, follow_redirects=False)
    assert forged.status_code == 403
    assert _revisions(session) == before
