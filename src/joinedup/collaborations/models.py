"""A collaboration's charter, built on four questions.

1. the problem it tackles; 2. the shared goal; 3. what each partner offers and is prepared to
give up; 4. how the public value added will be accounted for (outcome measures with baseline,
target and check date). It also records shared risks, pooled resources, who signed up, and
its status. Every saved change appends an immutable CharterRevision (who, when, full
snapshot), which is the charter's history.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from joinedup.db.base import Base, Timestamped, utcnow
from joinedup.places.models import Partner, Place, User


class Status(StrEnum):
    FORMING = "forming"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class ResourceKind(StrEnum):
    MONEY = "money"
    STAFF = "staff"
    DATA = "data"
    BUILDINGS = "buildings"


class Collaboration(Timestamped, Base):
    __tablename__ = "collaborations"
    __table_args__ = (UniqueConstraint("place_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=Status.FORMING.value)
    problem: Mapped[str] = mapped_column(Text, default="")
    shared_goal: Mapped[str] = mapped_column(Text, default="")
    value_accounting: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    place: Mapped[Place] = relationship()
    partners: Mapped[list[CharterPartner]] = relationship(
        back_populates="collaboration", cascade="all, delete-orphan",
        order_by="CharterPartner.id",
    )
    measures: Mapped[list[OutcomeMeasure]] = relationship(
        back_populates="collaboration", cascade="all, delete-orphan",
        order_by="OutcomeMeasure.id",
    )
    risks: Mapped[list[SharedRisk]] = relationship(
        back_populates="collaboration", cascade="all, delete-orphan", order_by="SharedRisk.id"
    )
    resources: Mapped[list[PooledResource]] = relationship(
        back_populates="collaboration", cascade="all, delete-orphan",
        order_by="PooledResource.id",
    )
    revisions: Mapped[list[CharterRevision]] = relationship(
        back_populates="collaboration", cascade="all, delete-orphan",
        order_by="CharterRevision.number",
    )


class CharterPartner(Base):
    """A partner in a collaboration: what it offers, what it gives up, whether it signed up."""

    __tablename__ = "charter_partners"
    __table_args__ = (UniqueConstraint("collaboration_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    offers: Mapped[str] = mapped_column(Text, default="")
    gives_up: Mapped[str] = mapped_column(Text, default="")
    signed_by: Mapped[str] = mapped_column(String(200), default="")
    signed_on: Mapped[date | None] = mapped_column(Date)

    collaboration: Mapped[Collaboration] = relationship(back_populates="partners")
    partner: Mapped[Partner] = relationship()


class OutcomeMeasure(Base):
    __tablename__ = "outcome_measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(100), default="")
    baseline: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(100))
    check_on: Mapped[date] = mapped_column(Date)

    collaboration: Mapped[Collaboration] = relationship(back_populates="measures")


class SharedRisk(Base):
    __tablename__ = "shared_risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    how_held: Mapped[str] = mapped_column(Text, default="")

    collaboration: Mapped[Collaboration] = relationship(back_populates="risks")


class PooledResource(Base):
    __tablename__ = "pooled_resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    amount_gbp: Mapped[int | None] = mapped_column(Integer)

    collaboration: Mapped[Collaboration] = relationship(back_populates="resources")
    partner: Mapped[Partner | None] = relationship()


class CharterRevision(Base):
    """One saved change to a charter: never edited, never deleted."""

    __tablename__ = "charter_revisions"
    __table_args__ = (UniqueConstraint("collaboration_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(254), default="")
    summary: Mapped[str] = mapped_column(String(500), default="")
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)

    collaboration: Mapped[Collaboration] = relationship(back_populates="revisions")
    author: Mapped[User | None] = relationship()
