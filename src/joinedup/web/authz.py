"""Who may use each route.

Every route declares exactly one of these dependencies; tests/web/test_route_rules.py walks
the route table and fails if a route has none:

- ``public()``: anyone, signed in or not (sign-in page, framework page, survey answering);
- ``signed_in()``: any signed-in user (their home page, their account);
- ``requires(Capability.X)``: a signed-in user whose role in the route's ``{place}`` grants X.

"Signed in" means the cookie's session id names a live row in user_sessions (see
places.sessions), checked on every request; the role is read afresh on every request too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.config import Settings
from joinedup.db.session import make_session
from joinedup.places import sessions
from joinedup.places.models import Membership, Place, User
from joinedup.places.roles import GRANTS, Capability, Role

RULE_ATTR = "__joinedup_rule__"
# The cookie's key for the random session id; the cookie holds nothing else about the user.
SESSION_ID = "sid"


class NotSignedIn(Exception):
    """Raised for a route that needs a user when there is none; the app redirects to sign in."""


def get_db(request: Request) -> Iterator[Session]:
    """A session for this request. Routes commit their own single transaction."""
    session = make_session(request.app.state.settings)
    try:
        yield session
    finally:
        # close() ends any uncommitted transaction but, unlike rollback(), leaves loaded
        # objects readable, so an error page rendered afterwards can still name the user.
        session.close()


@dataclass(frozen=True)
class Actor:
    """The signed-in user acting in a place, with the role and capabilities they have there."""

    user: User
    place: Place
    role: Role
    capabilities: frozenset[Capability]

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities


def lifetimes(settings: Settings) -> sessions.Lifetimes:
    return sessions.Lifetimes(absolute=settings.session_max_age, idle=settings.session_idle_timeout)


def current_session_id(request: Request) -> str:
    value = request.session.get(SESSION_ID, "")
    return value if isinstance(value, str) else ""


def _current_user(request: Request, session: Session) -> User | None:
    token = current_session_id(request)
    if not token:
        return None
    live = sessions.find_live(session, token, lifetimes(request.app.state.settings))
    if live is None:
        # Ended, timed out or unknown: whatever else the cookie holds goes too.
        request.session.clear()
        return None
    if live.touched:
        session.commit()  # nothing else is pending yet: the route starts its own transaction
    request.state.user = live.record.user
    return live.record.user


def _mark(dep: Callable[..., Any], rule: str) -> Callable[..., Any]:
    setattr(dep, RULE_ATTR, rule)
    return dep


def public() -> Callable[..., Any]:
    def allow_anyone(request: Request, session: Session = Depends(get_db)) -> User | None:
        # Still notice who is signed in, so the header can offer "Sign out".
        return _current_user(request, session)

    return _mark(allow_anyone, "public")


def signed_in() -> Callable[..., Any]:
    def need_user(request: Request, session: Session = Depends(get_db)) -> User:
        user = _current_user(request, session)
        if user is None:
            raise NotSignedIn()
        return user

    return _mark(need_user, "signed_in")


def requires(capability: Capability) -> Callable[..., Any]:
    def need_capability(request: Request, session: Session = Depends(get_db)) -> Actor:
        user = _current_user(request, session)
        if user is None:
            raise NotSignedIn()
        slug = request.path_params.get("place")
        if slug is None:  # a programming error: capability routes live under /places/{place}
            raise RuntimeError(f"route {request.url.path} uses requires() without {{place}}")
        row = session.execute(
            select(Place, Membership.role)
            .join(Membership, Membership.place_id == Place.id)
            .where(Place.slug == slug, Membership.user_id == user.id)
        ).first()
        if row is None:
            # Not a member: do not reveal whether the place exists.
            raise HTTPException(status_code=404)
        place, role_value = row
        role = Role(role_value)
        caps = GRANTS[role]
        request.state.place = place
        request.state.role = role
        request.state.capabilities = caps
        if capability not in caps:
            raise HTTPException(status_code=403)
        return Actor(user=user, place=place, role=role, capabilities=caps)

    return _mark(need_capability, f"requires:{capability.value}")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
