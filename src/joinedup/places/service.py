"""Creating and finding places, partners and services."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.places.colours import next_colour_slot
from joinedup.places.models import Membership, Partner, Place, Sector, Service, User

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")


class PlaceError(ValueError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def get_place(session: Session, slug: str) -> Place | None:
    return session.scalar(select(Place).where(Place.slug == slug))


def list_places(session: Session) -> list[Place]:
    return list(session.scalars(select(Place).order_by(Place.name)))


def places_for(session: Session, user: User) -> list[tuple[Place, str]]:
    rows = session.execute(
        select(Place, Membership.role)
        .join(Membership, Membership.place_id == Place.id)
        .where(Membership.user_id == user.id)
        .order_by(Place.name)
    )
    return [(place, role) for place, role in rows]


def create_place(
    session: Session, *, name: str, slug: str | None = None, adult_population: int | None = None,
    description: str = "",
) -> Place:
    name = name.strip()
    if not name:
        raise PlaceError("Enter the place's name", "name")
    slug = (slug or slugify(name)).strip()
    if not SLUG_RE.match(slug):
        raise PlaceError(
            "Short name must use only lower-case letters, numbers and hyphens", "slug"
        )
    if get_place(session, slug) is not None:
        raise PlaceError(f"A place called '{slug}' already exists", "slug")
    if adult_population is not None and adult_population <= 0:
        raise PlaceError("Adult population must be a whole number greater than 0",
                         "adult_population")
    place = Place(name=name, slug=slug, adult_population=adult_population,
                  description=description)
    session.add(place)
    session.flush()
    return place


def add_partner(session: Session, place: Place, *, name: str, sector: Sector | str,
                website: str = "") -> Partner:
    partner = Partner(place=place, name=name.strip(), sector=Sector(sector).value, website=website,
                      colour_slot=next_colour_slot(session, place.id))
    session.add(partner)
    session.flush()
    return partner


def add_service(session: Session, partner: Partner, *, name: str, description: str = "",
                status: str = "active") -> Service:
    service = Service(place_id=partner.place_id, partner=partner, name=name.strip(),
                      description=description, status=status)
    session.add(service)
    session.flush()
    return service
