"""The demo place without the heavy parts: Northbrook's partners, services, one user per role
and its three collaborations (with their charter history). No insight or survey data.

Used by web tests, the browser tier's server and the load benchmark, so that they all see
the same, realistic data. Every demo user's password is DEMO_PASSWORD.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pytest
from sqlalchemy.orm import Session

from joinedup.places.models import Place, User
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from joinedup.places.users import find_user, hash_password, set_role
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


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # argon2id takes about 0.1 s on purpose: hash the one demo password once per test run.
    return hash_password(DEMO_PASSWORD)


def _users(session: Session, place: Place) -> User:
    """The demo's users (as synth.demo makes them), sharing one password hash."""
    lead: User | None = None
    for role, email, name in DEMO_USERS:
        user = find_user(session, email)
        if user is None:
            user = User(name=name, email=email, password_hash=_password_hash())
            session.add(user)
            session.flush()
            set_role(session, user, place, role)
        if role == Role.LEAD:
            lead = user
    assert lead is not None
    return lead


def seed_demo_like(session: Session) -> DemoLike:
    """Idempotent; commits."""
    place: Place = get_place(session, PLACE_SLUG) or demo_loader._place(session)[0]
    lead = _users(session, place)
    load_demo_collaborations(session, place, lead)
    session.commit()
    from joinedup.collaborations.charters import list_collaborations

    return DemoLike(place.slug, tuple(c.slug for c in list_collaborations(session, place)))


@pytest.fixture
def demo(session: Session) -> DemoLike:
    """The demo-like place in this test's database (import this fixture into a test module)."""
    return seed_demo_like(session)
