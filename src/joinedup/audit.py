"""The append-only audit log.

Sign-ins, failed sign-ins, role changes, charter changes, uploads, linkage runs, person-level
views and exports are recorded here. Rows are only ever inserted: the ORM refuses updates
and deletes of an AuditEvent, and PostgreSQL deployments can also revoke UPDATE/DELETE on
the table (see docs/operator-guide.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from joinedup.db.base import Base, utcnow


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
    """Add an event to the session; it is written with the caller's transaction."""
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


def count_since(session: Session, action: str, since: datetime, *, subject: str) -> int:
    from sqlalchemy import func

    stmt = select(func.count(AuditEvent.id)).where(
        AuditEvent.action == action, AuditEvent.at >= since, AuditEvent.subject == subject
    )
    return int(session.scalar(stmt) or 0)


__all__ = ["AuditEvent", "AuditLogIsAppendOnly", "count_since", "recent", "record"]
