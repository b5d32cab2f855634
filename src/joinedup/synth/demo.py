"""Load the demo place: Northbrook, its partners, services, users, charters, insight and surveys.

Idempotent: each step looks for what it would create and leaves it alone if present, so
`make demo` can run any number of times without duplicating anything.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from joinedup.config import Settings
from joinedup.db.session import session_scope
from joinedup.places.models import Place, User
from joinedup.places.service import add_partner, add_service, create_place, get_place
from joinedup.places.users import create_user, find_user, set_role
from joinedup.synth.demo_place import (
    ADULT_POPULATION,
    DEMO_PASSWORD,
    DEMO_USERS,
    PARTNERS,
    PLACE_DESCRIPTION,
    PLACE_NAME,
    PLACE_SLUG,
)

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "load_demo"]


def _place(session: Session) -> tuple[Place, bool]:
    place = get_place(session, PLACE_SLUG)
    if place is not None:
        return place, False
    place = create_place(session, name=PLACE_NAME, slug=PLACE_SLUG,
                         adult_population=ADULT_POPULATION, description=PLACE_DESCRIPTION)
    for partner_name, sector, services in PARTNERS:
        partner = add_partner(session, place, name=partner_name, sector=sector)
        for service_name, description in services:
            add_service(session, partner, name=service_name, description=description)
    return place, True


def _users(session: Session, place: Place) -> User:
    lead: User | None = None
    for role, email, name in DEMO_USERS:
        user = find_user(session, email)
        if user is None:
            user = create_user(session, name=name, email=email, password=DEMO_PASSWORD)
            set_role(session, user, place, role)
        if role.value == "lead":
            lead = user
    assert lead is not None
    return lead


def load_demo(settings: Settings) -> str:
    # Imported here: each area's generator is heavy, and only the demo needs them.
    from joinedup.synth.demo_charters import load_demo_collaborations
    from joinedup.synth.demo_public import load_demo_public_page
    from joinedup.synth.demo_value import load_demo_value, write_demo_programme
    from joinedup.synth.insight import load_demo_insight
    from joinedup.synth.places import load_demo_collection
    from joinedup.synth.surveys import load_demo_surveys

    with session_scope(settings) as session:
        place, created = _place(session)
        lead = _users(session, place)
        load_demo_collaborations(session, place, lead)
        load_demo_surveys(session, place.slug)
        session.flush()
        load_demo_public_page(session, place, lead)  # issue 11: its public page is on
        slug = place.slug
    write_demo_programme(settings, slug)  # the programme's caseload, ingested with the rest
    load_demo_insight(slug, settings)
    load_demo_value(settings, slug)
    load_demo_collection(settings, slug)  # issue 11: the demo places' packages, compared
    verb = "Loaded" if created else "Checked"
    return f"{verb} the demo place {PLACE_NAME} ({slug})"
