"""Small, explicit builders for test data in the app database."""

from __future__ import annotations

from sqlalchemy.orm import Session

from joinedup.places.models import Partner, Place, Sector, User
from joinedup.places.roles import Role
from joinedup.places.service import add_partner, add_service, create_place
from joinedup.places.users import create_user, set_role

PASSWORD = "correct horse battery staple"


def make_place(session: Session, slug: str = "testville", name: str = "Testville") -> Place:
    place = create_place(session, name=name, slug=slug, adult_population=50_000)
    council = add_partner(session, place, name="Testville Council", sector=Sector.LOCAL_GOVERNMENT)
    trust = add_partner(session, place, name="Testville NHS Trust", sector=Sector.NHS)
    add_partner(session, place, name="Testville Police", sector=Sector.POLICE_AND_JUSTICE)
    add_service(session, council, name="Housing Options")
    add_service(session, trust, name="Emergency Department")
    return place


def make_user(session: Session, place: Place | None, role: Role | None, email: str | None = None) -> User:
    email = email or f"{role.value if role else 'nobody'}@{place.slug if place else 'example'}.example"
    user = create_user(session, name=f"Test {role.value if role else 'User'}", email=email,
                       password=PASSWORD)
    if place is not None and role is not None:
        set_role(session, user, place, role)
    return user


def partner_named(place: Place, name: str) -> Partner:
    return next(p for p in place.partners if p.name == name)
