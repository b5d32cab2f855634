"""The append-only audit log.

Sign-ins, failed sign-ins, role changes, charter changes, uploads, linkage runs, person-level
views and exports are recorded here. Rows are only ever inserted: the ORM refuses updates
and deletes of an AuditEvent, and PostgreSQL deployments can also revoke UPDATE/DELETE on
the table (see docs/operator-guide.md).

Every row says who acted: the account's email for actions in the web app, and
"command line (<operating-system account>)" for commands run on the server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, event, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from joinedup.db.base import Base, utcnow
from joinedup.places.models import User

# What callers pass as actor_label for a command run on the server; record() adds the
# operating-system account that ran it.
COMMAND_LINE = "command line"


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    place_id: Mapped[int | None] = mapped_column(
        ForeignKey("places.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(*_args: object) -> None:
    raise AuditLogIsAppendOnly("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(*_args: object) -> None:
    raise AuditLogIsAppendOnly("audit events cannot be deleted")


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    place_id: int | None = None,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    ip: str = "",
) -> AuditEvent:
    """Add an event to the session; it is written with the caller's transaction.

    An actor given only by account is named by the account's email, so that the row still
    says who it was if the account is later removed; ``COMMAND_LINE`` becomes
    ``command line (<operating-system account>)``.
    """
    if actor_label == COMMAND_LINE:
        actor_label = operator_label()
    elif not actor_label and actor_id is not None:
        user = session.get(User, actor_id)
        actor_label = user.email if user is not None else ""
    entry = AuditEvent(
        action=action,
        actor_id=actor_id,
        actor_label=actor_label,
        place_id=place_id,
        subject=subject,
        detail=detail or {},
        ip=ip,
    )
    session.add(entry)
    return entry


def recent(
    session: Session, *, place_id: int | None = None, action: str | None = None, limit: int = 200
) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if place_id is not None:
        stmt = stmt.where(AuditEvent.place_id == place_id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(session.scalars(stmt))


def operator_label() -> str:
    """Who ran a command: the operating-system account of the process, as the system itself
    reports it (not the USER variable, which anyone can set)."""
    try:
        import pwd

        name = pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):  # no password database (Windows) or no entry (containers)
        name = f"user id {os.geteuid()}" if hasattr(os, "geteuid") else ""
    return f"{COMMAND_LINE} ({name})" if name else COMMAND_LINE


@dataclass(frozen=True)
class Entry:
    """An audit event as the audit page shows it."""

    event: AuditEvent
    actor: str  # the recorded name, or the account's email for rows recorded without one


def search(
    session: Session,
    *,
    place_id: int,
    action: str = "",
    actor: str = "",
    limit: int = 300,
) -> list[Entry]:
    """The place's most recent events, newest first. ``action`` and ``actor`` match any part,
    in any case ("export" finds insight.export.links; "analyst" finds analyst@...); the
    actor is matched against the recorded name and the account's email."""
    stmt = (
        select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.place_id == place_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if action.strip():
        stmt = stmt.where(AuditEvent.action.icontains(action.strip(), autoescape=True))
    if actor.strip():
        wanted = actor.strip()
        stmt = stmt.where(or_(AuditEvent.actor_label.icontains(wanted, autoescape=True),
                              func.coalesce(User.email, "").icontains(wanted, autoescape=True)))
    return [Entry(e, e.actor_label or email or "") for e, email in session.execute(stmt)]


def count_since(session: Session, action: str, since: datetime, *, subject: str) -> int:
    from sqlalchemy import func

    stmt = select(func.count(AuditEvent.id)).where(
        AuditEvent.action == action, AuditEvent.at >= since, AuditEvent.subject == subject
    )
    return int(session.scalar(stmt) or 0)


__all__ = [
    "COMMAND_LINE",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "Entry",
    "count_since",
    "operator_label",
    "recent",
    "record",
    "search",
]
