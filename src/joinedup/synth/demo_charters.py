"""The demo's three collaborations, written through charters.py so that each has a history.

Idempotent: a collaboration already in the place (by name) is left alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from joinedup.collaborations import charters
from joinedup.collaborations.charters import Draft, Measure, PartnerPart, Resource, Risk
from joinedup.places.models import Place, User
from joinedup.synth.demo_place import COLLABORATIONS

# When the partners who signed each charter did so (the demo data names who, not when).
SIGNED_ON: dict[str, date] = {
    "Fulfilling lives in Northbrook": date(2025, 6, 2),
    "Northbrook domestic abuse partnership": date(2025, 11, 3),
    "Winter pressures 2025": date(2024, 10, 1),
}


def load_demo_collaborations(session: Session, place: Place, lead_user: User) -> None:
    existing = {c.name for c in charters.list_collaborations(session, place)}
    partners = {p.name: p for p in place.partners}
    for spec in COLLABORATIONS:
        name = str(spec["name"])
        if name in existing:
            continue
        collab = charters.create_collaboration(session, place, name, author=lead_user)
        draft = charters.draft_of(collab)
        steps = _steps(spec, draft, partners, SIGNED_ON.get(name, date(2025, 1, 6)))
        for step in steps:
            charters.save(session, collab, step, author=lead_user)
    session.flush()


def _steps(spec: dict[str, Any], start: Draft, partners: dict[str, Any], signed_on: date) -> list[Draft]:
    """The charter written as a lead would: questions, partners, measures, risks and resources,
    then the status."""
    questions = replace(start, problem=spec["problem"], shared_goal=spec["shared_goal"],
                        value_accounting=spec["value_accounting"])
    parts = tuple(sorted(
        (PartnerPart(partners[name].id, name, offers, gives_up, signed_by,
                     signed_on if signed_by else None)
         for name, offers, gives_up, signed_by in spec["partners"]),
        key=lambda p: p.partner.lower(),
    ))
    with_partners = replace(questions, partners=parts)
    with_measures = replace(with_partners, measures=tuple(
        Measure(name, baseline, target, check_on, unit)
        for name, unit, baseline, target, check_on in spec["measures"]
    ))
    with_risks = replace(with_measures, risks=tuple(Risk(d, h) for d, h in spec["risks"]))
    with_resources = replace(with_risks, resources=tuple(
        Resource(kind, description, partners[p].id if p else None, p or "", amount)
        for kind, description, p, amount in spec["resources"]
    ))
    steps = [questions, with_partners, with_measures]
    if spec["risks"]:
        steps.append(with_risks)
    steps.append(with_resources)
    status = str(spec["status"])
    if status == "closed":
        steps.append(replace(with_resources, status="active"))
    if status != "forming":
        steps.append(replace(with_resources, status=status))
    return steps
