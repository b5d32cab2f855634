"""What the engine needs to know about a place from the app database.

Kept in one module so that the rest of the engine works without an app database (tests,
benchmarks): when the place is not found there, defaults apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from joinedup.insight.disclosure import DisclosureRule

__all__ = ["PlaceContext", "place_context"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlaceContext:
    slug: str
    place_id: int | None = None
    name: str | None = None
    adult_population: int | None = None
    rule: DisclosureRule = field(default_factory=DisclosureRule)
    collaborating_partners: frozenset[frozenset[str]] = frozenset()


def place_context(slug: str, settings: Any = None) -> PlaceContext:
    """Look the place up in the app database; fall back to defaults if it is not there."""
    try:
        from sqlalchemy import select

        from joinedup.collaborations.models import Collaboration
        from joinedup.db.session import app_database_absent, session_scope
        from joinedup.places.service import get_place

        if app_database_absent(settings):
            return PlaceContext(slug=slug)
        with session_scope(settings) as session:
            place = get_place(session, slug)
            if place is None:
                return PlaceContext(slug=slug)
            pairs: set[frozenset[str]] = set()
            for collaboration in session.scalars(
                select(Collaboration).where(Collaboration.place_id == place.id)
            ):
                names = sorted({cp.partner.name for cp in collaboration.partners})
                for i, a in enumerate(names):
                    for b in names[i + 1 :]:
                        pairs.add(frozenset((a, b)))
            return PlaceContext(
                slug=slug,
                place_id=place.id,
                name=place.name,
                adult_population=place.adult_population,
                rule=DisclosureRule.for_place(place),
                collaborating_partners=frozenset(pairs),
            )
    except Exception:  # the app database is optional for the engine
        logger.debug("place %s not read from the app database", slug, exc_info=True)
        return PlaceContext(slug=slug)
