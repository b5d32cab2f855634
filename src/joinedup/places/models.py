"""Places, partners, services, users and their roles: the app database's core tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from joinedup.db.base import Base, Timestamped


class Sector(StrEnum):
    LOCAL_GOVERNMENT = "local government"
    NHS = "NHS"
    CENTRAL_GOVERNMENT = "central government"
    POLICE_AND_JUSTICE = "police and justice"
    HOUSING = "housing"
    VOLUNTARY_AND_COMMUNITY = "voluntary and community"
    BUSINESS = "business"


class ServiceStatus(StrEnum):
    """Open Referral UK's service.status."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    DEFUNCT = "defunct"
    TEMPORARILY_CLOSED = "temporarily closed"


class Place(Timestamped, Base):
    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    adult_population: Mapped[int | None] = mapped_column(Integer)
    # Disclosure control (issue 3 default, after NHS England's rule): counts from 1 to
    # threshold-1 are suppressed and the rest rounded to the nearest `disclosure_rounding`.
    disclosure_threshold: Mapped[int] = mapped_column(Integer, default=8)
    disclosure_rounding: Mapped[int] = mapped_column(Integer, default=5)
    # Survey results are shown only for groups of at least this many respondents.
    min_group_size: Mapped[int] = mapped_column(Integer, default=5)

    partners: Mapped[list[Partner]] = relationship(
        back_populates="place", order_by="Partner.name", cascade="all, delete-orphan"
    )
    services: Mapped[list[Service]] = relationship(
        back_populates="place", order_by="Service.name", cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="place", cascade="all, delete-orphan"
    )


class Partner(Timestamped, Base):
    __tablename__ = "partners"
    __table_args__ = (
        UniqueConstraint("place_id", "name"),
        # One colour per partner of a place, kept for good (see places/colours.py).
        UniqueConstraint("place_id", "colour_slot", name="uq_partners_place_colour_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(40))
    website: Mapped[str] = mapped_column(String(300), default="")
    # Given when the partner is added and never changed, so that a partner keeps its colour on
    # every chart whatever partners come later.
    colour_slot: Mapped[int] = mapped_column(Integer)
    # A retired partner is hidden from new choices but kept wherever history shows it.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    place: Mapped[Place] = relationship(back_populates="partners")
    services: Mapped[list[Service]] = relationship(back_populates="partner", order_by="Service.name")


class Service(Timestamped, Base):
    """A service a partner provides, described in Open Referral UK terms."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # ORUK service.status: active, inactive, defunct, temporarily closed
    status: Mapped[str] = mapped_column(String(30), default="active")
    email: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    place: Mapped[Place] = relationship(back_populates="services")
    partner: Mapped[Partner] = relationship(back_populates="services")


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sign_in: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Membership(Timestamped, Base):
    """A user's role in a place: one role per user per place."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "place_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="memberships")
    place: Mapped[Place] = relationship(back_populates="memberships")
    partner: Mapped[Partner | None] = relationship()


class UserSession(Timestamped, Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored, so a copy
    of the database cannot be used to sign in. Every request checks the row, so ending it (sign
    out, password change, losing a role or the account) takes effect at once."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_why: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class Invitation(Timestamped, Base):
    """An administrator's offer of a role in their place to an email address. Nothing about any
    account with that address is shown to the place; the role starts only when the person,
    signed in as that address, accepts."""

    __tablename__ = "place_invitations"
    __table_args__ = (UniqueConstraint("place_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    # The name as the administrator typed it: never the account's own name.
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    place: Mapped[Place] = relationship()
    invited_by: Mapped[User | None] = relationship()
