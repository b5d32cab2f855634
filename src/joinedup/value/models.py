"""A collaboration's public value account in the app database: its settings and stored results.

No person-level data lives here. The settings say *who* the programme serves by naming a
source or a cohort of the place's insight store (the persons themselves stay in DuckDB), which
measures to count, the valuation parameters and what each partner spends. A stored result is
the engine's account (aggregates only) with the hash of the inputs it was computed from, so
that pages are served from it and say when it is out of date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from joinedup.collaborations.models import Collaboration, OutcomeMeasure
from joinedup.db.base import Base, Timestamped, utcnow
from joinedup.places.models import Partner

__all__ = ["ValueAccount", "ValueCost", "ValueMeasureLink", "ValueResult"]


class ValueAccount(Timestamped, Base):
    """The settings of one collaboration's account (one per collaboration).

    ``programme``, ``measures`` and ``parameters`` hold the engine's own dictionaries
    (``Programme``, ``MeasureSpec`` and ``Parameters`` as ``to_dict`` writes them), so that the
    engine stays the single definition of what they mean. ``version`` goes up with every saved
    change, so a stored result can say which settings it was computed from.
    """

    __tablename__ = "value_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    collaboration_id: Mapped[int] = mapped_column(
        ForeignKey("collaborations.id", ondelete="CASCADE"), unique=True
    )
    programme: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    measures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")

    collaboration: Mapped[Collaboration] = relationship()
    costs: Mapped[list[ValueCost]] = relationship(
        back_populates="account",
        cascade="all, delete-orphan",
        order_by="(ValueCost.year, ValueCost.id)",
    )
    result: Mapped[ValueResult | None] = relationship(
        back_populates="owner", cascade="all, delete-orphan", uselist=False
    )


class ValueCost(Base):
    """What one partner spends on the collaboration in one year of the programme (year 0 is
    the first, undiscounted). Pre-filled from the charter's pooled money, or entered."""

    __tablename__ = "value_costs"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("value_accounts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    amount_gbp: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300), default="")

    account: Mapped[ValueAccount] = relationship(back_populates="costs")
    partner: Mapped[Partner] = relationship()


class ValueResult(Base):
    """The latest computed account of a collaboration.

    ``account`` is the engine's ``Account.to_dict()`` (exact aggregates, shown to analysts);
    ``published`` is the same account after disclosure control, which everyone else reads.
    ``inputs_hash`` covers the settings and ``data_version`` the insight store's state, so the
    page can tell when the result is out of date.
    """

    __tablename__ = "value_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("value_accounts.id", ondelete="CASCADE"), unique=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    computed_by: Mapped[str] = mapped_column(String(254), default="")
    settings_version: Mapped[int] = mapped_column(Integer)
    inputs_hash: Mapped[str] = mapped_column(String(64))
    data_version: Mapped[str] = mapped_column(String(300))
    account: Mapped[dict[str, Any]] = mapped_column(JSON)
    published: Mapped[dict[str, Any]] = mapped_column(JSON)

    owner: Mapped[ValueAccount] = relationship(back_populates="result")


class ValueMeasureLink(Base):
    """A charter outcome measure tied to a measure of the account, so that the charter shows
    the measured value and the progress towards its target. ``per`` is "quarter" or "year"
    (the account counts per person per quarter; a charter often speaks of a year)."""

    __tablename__ = "value_measure_links"
    __table_args__ = (UniqueConstraint("outcome_measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_measure_id: Mapped[int] = mapped_column(ForeignKey("outcome_measures.id", ondelete="CASCADE"))
    measure_key: Mapped[str] = mapped_column(String(80))
    per: Mapped[str] = mapped_column(String(10), default="year")

    outcome_measure: Mapped[OutcomeMeasure] = relationship()
