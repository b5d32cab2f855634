"""The demo place without the heavy parts: Northbrook's partners, services, one user per role
and its three collaborations (with their charter history). No insight or survey data.

Used by web tests, the browser tier's server and the load benchmark, so that they all see
the same, realistic data. Every demo user's password is DEMO_PASSWORD.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.synth import demo as demo_loader
from joinedup.synth.demo_charters import load_demo_collaborations
from joinedup.synth.demo_place import DEMO_PASSWORD, DEMO_USERS, PLACE_SLUG

__all__ = ["DEMO_PASSWORD", "DemoLike", "demo", "email_for", "seed_demo_like"]


@dataclass(frozen=True)
class DemoLike:
    place_slug: str
    collaboration_slugs: tuple[str, ...]


def email_for(role: Role) -> str:
    return next(email for r, email, _name in DEMO_USERS if r == role)


def seed_demo_like(session: Session) -> DemoLike:
    """Idempotent; commits."""
    place: Place = get_place(session, PLACE_SLUG) or demo_loader._place(session)[0]
    lead = demo_loader._users(session, place)
    load_demo_collaborations(session, place, lead)
    session.commit()
    from joinedup.collaborations.charters import list_collaborations

    return DemoLike(place.slug, tuple(c.slug for c in list_collaborations(session, place)))


@pytest.fixture
def demo(session: Session) -> DemoLike:
    """The demo-like place in this test's database (import this fixture into a test module)."""
    return seed_demo_like(session)
