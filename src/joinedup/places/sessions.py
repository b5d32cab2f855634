"""Server-side sessions: one row per signed-in browser, checked on every request.

The browser's signed cookie holds only a random session id (256 bits). The database holds its
SHA-256, never the id itself, so neither a copy of the database nor its backups can be used
to sign in. A session ends, for good and whatever the browser still holds, when:

- the person signs out (that session);
- their password changes (every other session; all of them when the operator resets it);
- they lose a role in a place, or their account is deactivated (all their sessions);
- it has had no request for ``idle`` seconds, or it reaches its absolute lifetime.

Roles are not copied into the session: they are read from the database on each request, so a
role change takes effect on the person's next click.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, joinedload

from joinedup.db.base import utcnow
from joinedup.places.models import User, UserSession

# last_seen_at is written at most this often, so a busy page costs no database write per
# request; the idle timeout is therefore accurate to within this many seconds.
TOUCH_EVERY = timedelta(seconds=60)
# Ended and expired rows are kept this long (for the operator's questions), then deleted.
KEEP_ENDED = timedelta(days=30)


class Why:
    """Why a session ended (stored in user_sessions.ended_why)."""

    SIGNED_OUT = "signed out"
    SIGNED_IN_AGAIN = "signed in again"
    PASSWORD_CHANGED = "password changed"  # noqa: S105 (a reason, not a password)
    ROLE_REMOVED = "role removed"
    DEACTIVATED = "account deactivated"
    OPERATOR = "ended by the operator"


@dataclass(frozen=True)
class Lifetimes:
    absolute: int  # seconds from sign-in
    idle: int  # seconds without a request


def token_hash(token: str) -> str:
    """What is stored for a cookie's session id."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(
    session: Session, user: User, lifetimes: Lifetimes, *, ip: str = "", user_agent: str = "",
    now: datetime | None = None,
) -> str:
    """Record a new session for the user; returns the id to put in the cookie."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(UserSession(
        token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(seconds=lifetimes.absolute), ip=ip[:64],
        user_agent=user_agent[:200],
    ))
    _prune(session, now)
    session.flush()
    return token


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


@dataclass(frozen=True)
class Live:
    record: UserSession
    touched: bool  # last_seen_at was moved on: the caller commits


def find_live(
    session: Session, token: str, lifetimes: Lifetimes, *, now: datetime | None = None
) -> Live | None:
    """The session for this cookie id if it is still live, with its user; else None."""
    if not token:
        return None
    now = now or utcnow()
    # One query for the session and its user: this runs on every signed-in request.
    record = session.scalar(
        select(UserSession).options(joinedload(UserSession.user))
        .where(UserSession.token_hash == token_hash(token))
    )
    if record is None or record.ended_at is not None:
        return None
    if _aware(record.expires_at) <= now:
        return None
    last_seen = _aware(record.last_seen_at)
    if last_seen + timedelta(seconds=lifetimes.idle) <= now:
        return None
    if not record.user.active:
        return None
    touched = now - last_seen >= TOUCH_EVERY
    if touched:
        record.last_seen_at = now
    return Live(record, touched)


def end(session: Session, token: str, why: str, *, now: datetime | None = None) -> bool:
    """End the session with this cookie id; False if there was none live."""
    if not token:
        return False
    result = session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_hash(token), UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), ended_why=why)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_all(
    session: Session, user_id: int, why: str, *, keep: str = "", now: datetime | None = None
) -> int:
    """End every live session of a user, except the one whose cookie id is ``keep``.

    Returns how many were ended."""
    now = now or utcnow()
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None),
               UserSession.expires_at > now)
        .values(ended_at=now, ended_why=why)
    )
    if keep:
        stmt = stmt.where(UserSession.token_hash != token_hash(keep))
    result = session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


def live_sessions(session: Session, user_id: int, lifetimes: Lifetimes) -> list[UserSession]:
    """A user's sessions that could still be used, newest first."""
    now = utcnow()
    rows = session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None),
               UserSession.expires_at > now,
               UserSession.last_seen_at > now - timedelta(seconds=lifetimes.idle))
        .order_by(UserSession.id.desc())
    )
    return list(rows)


def _prune(session: Session, now: datetime) -> None:
    """Delete rows that ended or expired long ago (cheap: run at each sign-in)."""
    cutoff = now - KEEP_ENDED
    session.execute(delete(UserSession).where(UserSession.expires_at < cutoff))
