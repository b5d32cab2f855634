"""Charter logic: reading each part, validation by field, saving with revisions and audit, history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.collaborations import charters
from joinedup.collaborations.charters import CharterInvalid, Measure
from joinedup.collaborations.models import CharterRevision, Collaboration
from joinedup.places.models import Place, User
from joinedup.places.roles import Role
from joinedup.synth.demo_charters import load_demo_collaborations
from tests.support.factories import make_place, make_user


@pytest.fixture
def place(session: Session) -> Place:
    return make_place(session)


@pytest.fixture
def lead(session: Session, place: Place) -> User:
    return make_user(session, place, Role.LEAD)


def _collab(session: Session, place: Place, lead: User) -> Collaboration:
    return charters.create_collaboration(session, place, "Fewer crises together", author=lead)


def test_create_makes_revision_one_and_an_audit_event(session, place, lead) -> None:
    c = _collab(session, place, lead)
    assert c.slug == "fewer-crises-together" and c.status == "forming"
    revisions = [(r.number, r.summary, r.author_id) for r in c.revisions]
    assert revisions == [(1, "Started the collaboration", lead.id)]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "charter.changed")).all()
    assert [(e.subject, e.detail["revision"]) for e in events] == [("fewer-crises-together", 1)]


@pytest.mark.parametrize(("name", "message"), [
    ("", "Enter the collaboration's name"),
    ("x" * 201, "Name must be 200 characters or fewer"),
    ("fewer CRISES together", "There is already a collaboration with this name in this place"),
])
def test_bad_names_are_refused(session, place, lead, name, message) -> None:
    _collab(session, place, lead)
    with pytest.raises(CharterInvalid) as exc:
        charters.create_collaboration(session, place, name, author=lead)
    assert exc.value.errors == {"name": message}


def test_slug_new_is_reserved_and_slugs_stay_unique(session, place, lead) -> None:
    assert charters.create_collaboration(session, place, "New", author=lead).slug == "new-2"


def test_questions_are_required_and_name_their_fields(session, place, lead) -> None:
    draft = charters.draft_of(_collab(session, place, lead))
    _, errors = charters.read_questions(draft, {"name": "", "problem": " ", "shared_goal": "",
                                                "value_accounting": ""})
    assert set(errors) == {"name", "problem", "shared_goal", "value_accounting"}
    assert errors["problem"] == "Enter the problem the collaboration tackles"


def test_partner_rules(session, place, lead) -> None:
    draft = charters.draft_of(_collab(session, place, lead))
    partners = list(place.partners)
    a, b, c = (f"partners-{p.id}" for p in partners[:3])
    form = {
        f"{a}-included": "yes", f"{a}-offers": "",
        f"{b}-included": "yes", f"{b}-offers": "Beds", f"{b}-signed_by": "Director",
        f"{c}-included": "yes", f"{c}-offers": "Officers", f"{c}-signed_on-day": "31",
        f"{c}-signed_on-month": "2", f"{c}-signed_on-year": "2025",
    }
    _, errors = charters.read_partners(draft, form, partners)
    assert errors[f"{a}-offers"] == f"Enter what {partners[0].name} offers"
    assert errors[f"{b}-signed_on-day"] == f"Enter the date {partners[1].name} signed up"
    assert errors[f"{c}-signed_on-day"] == f"The date {partners[2].name} signed up must be a real date"


def test_future_signing_date_is_refused(session, place, lead) -> None:
    draft = charters.draft_of(_collab(session, place, lead))
    a = f"partners-{place.partners[0].id}"
    form = {f"{a}-included": "yes", f"{a}-offers": "x", f"{a}-signed_by": "Chief",
            f"{a}-signed_on-day": "1", f"{a}-signed_on-month": "1", f"{a}-signed_on-year": "2199"}
    _, errors = charters.read_partners(draft, form, list(place.partners))
    assert "today or in the past" in errors[f"{a}-signed_on-day"]


def test_measure_rows(session, place, lead) -> None:
    draft = charters.draft_of(_collab(session, place, lead))
    form = {
        "measures-0-name": "A&E visits", "measures-0-baseline": "6", "measures-0-target": "3",
        "measures-0-check_on-day": "31", "measures-0-check_on-month": "3", "measures-0-check_on-year": "2027",
        "measures-1-name": "Gone", "measures-1-remove": "yes",
        "measures-2-name": "", "measures-2-baseline": "", "measures-2-target": "",  # the blank row
    }
    new, errors = charters.read_measures(draft, form)
    assert errors == {}
    assert new.measures == (Measure("A&E visits", "6", "3", date(2027, 3, 31), ""),)
    _, errors = charters.read_measures(draft, {"measures-0-name": "x", "measures-0-check_on-day": "3"})
    assert errors["measures-0-baseline"].startswith("Enter the baseline")
    assert errors["measures-0-target"] == "Enter the target for measure 1"
    assert errors["measures-0-check_on-day"] == (
        "The date measure 1 will be checked must include a month and year")


def test_resource_rules(session, place, lead) -> None:
    c = _collab(session, place, lead)
    partner = place.partners[0]
    draft = replace(charters.draft_of(c), partners=(charters.PartnerPart(partner.id, partner.name, "x"),))
    new, errors = charters.read_resources(draft, {
        "resources-0-kind": "money", "resources-0-description": "Budget",
        "resources-0-partner_id": str(partner.id), "resources-0-amount": "£450,000",
    })
    assert errors == {} and new.resources[0].amount_gbp == 450_000
    _, errors = charters.read_resources(draft, {
        "resources-0-kind": "gold", "resources-0-description": "", "resources-0-partner_id": "999",
        "resources-0-amount": "lots",
    })
    assert set(errors) == {"resources-0-kind", "resources-0-description", "resources-0-partner_id",
                           "resources-0-amount"}
    _, errors = charters.read_resources(draft, {"resources-0-kind": "staff", "resources-0-description": "Six",
                                                "resources-0-amount": "5"})
    assert errors["resources-0-amount"].startswith("Only money has an amount")


def test_cannot_go_active_without_the_basics(session, place, lead) -> None:
    draft = charters.draft_of(_collab(session, place, lead))
    _, errors = charters.read_status(draft, {"status": "active"})
    assert errors["status"] == ("Before the collaboration can be active, answer the four questions, "
                                "add at least 2 partners and add at least 1 outcome measure")
    _, errors = charters.read_status(draft, {"status": "nonsense"})
    assert errors == {"status": "Select the collaboration's status"}


def test_save_refuses_an_invalid_draft_and_writes_nothing(session, place, lead) -> None:
    c = _collab(session, place, lead)
    bad = replace(charters.draft_of(c), problem="Something", shared_goal="")
    with pytest.raises(CharterInvalid) as exc:
        charters.save(session, c, bad, author=lead)
    assert "shared_goal" in exc.value.errors
    assert session.scalar(select(func.count(CharterRevision.id))) == 1
    assert c.problem == ""


def test_save_appends_revision_snapshot_and_audit(session, place, lead) -> None:
    c = _collab(session, place, lead)
    draft = replace(charters.draft_of(c), problem="P", shared_goal="G", value_accounting="V")
    rev = charters.save(session, c, draft, author=lead)
    assert rev is not None and rev.number == 2
    assert rev.summary == ("The problem changed; The shared goal changed; "
                           "How public value added is accounted for changed")
    assert rev.snapshot["problem"] == "P" and rev.author_label == lead.name
    assert charters.save(session, c, draft, author=lead) is None  # nothing changed: no revision
    changed = select(func.count(AuditEvent.id)).where(AuditEvent.action == "charter.changed")
    assert session.scalar(changed) == 2


def test_partners_can_be_changed_in_place_without_breaking_uniqueness(session, place, lead) -> None:
    c = _collab(session, place, lead)
    p0, p1 = place.partners[0], place.partners[1]
    d = charters.draft_of(c)
    d = replace(d, partners=(charters.PartnerPart(p0.id, p0.name, "a"),
                             charters.PartnerPart(p1.id, p1.name, "b")))
    charters.save(session, c, d, author=lead)
    d2 = replace(charters.draft_of(c), partners=(charters.PartnerPart(p0.id, p0.name, "changed"),))
    charters.save(session, c, d2, author=lead)
    session.flush()
    assert [(cp.partner_id, cp.offers) for cp in c.partners] == [(p0.id, "changed")]
    history = charters.history(session, c)
    assert [e.revision.number for e in history] == [3, 2, 1]
    whats = [ch.what for ch in history[0].changes]
    assert f"Partner changed: {p0.name}" in whats and f"Partner removed: {p1.name}" in whats


def test_history_shows_before_and_after(session, place, lead) -> None:
    c = _collab(session, place, lead)
    charters.save(session, c, replace(charters.draft_of(c), name="Renamed"), author=lead)
    latest = charters.history(session, c)[0]
    assert [(ch.what, ch.before, ch.after) for ch in latest.changes] == [
        ("Name", "Fewer crises together", "Renamed")]


def test_revisions_are_never_rewritten(session, place, lead) -> None:
    c = _collab(session, place, lead)
    charters.save(session, c, replace(charters.draft_of(c), problem="P", shared_goal="G",
                                      value_accounting="V"), author=lead)
    first = c.revisions[0].snapshot
    assert first["problem"] == ""


def test_demo_collaborations_are_idempotent_and_have_history(session) -> None:
    from tests.support.demo_like import seed_demo_like

    demo = seed_demo_like(session)
    again = seed_demo_like(session)
    assert demo == again and len(demo.collaboration_slugs) == 3
    place = session.scalar(select(Place).where(Place.slug == demo.place_slug))
    assert place is not None
    lead = session.scalar(select(User).where(User.email == "lead@northbrook.example"))
    load_demo_collaborations(session, place, lead)
    statuses = {c.name: (c.status, len(c.revisions)) for c in charters.list_collaborations(session, place)}
    assert statuses["Fulfilling lives in Northbrook"][0] == "active"
    assert statuses["Winter pressures 2025"][0] == "closed"
    assert statuses["Northbrook domestic abuse partnership"][0] == "forming"
    assert all(n >= 4 for _, n in statuses.values())
    for c in charters.list_collaborations(session, place):
        assert charters.validate(charters.draft_of(c)) == {}
