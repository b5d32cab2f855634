"""Survey rounds, links, responses, answers and free-text themes (app database).

Respondents have no account. A response is found again only by its resume key, kept in
the respondent's cookie, so nobody (not even an admin) can tie an answer to a person
through these tables. Staff give their partner and level, never their name.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# The tables the foreign keys point at must be in the metadata whenever these models are.
import joinedup.collaborations.models  # noqa: F401
import joinedup.places.models  # noqa: F401
from joinedup.db.base import Base, Timestamped


class RoundStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class ResponseStatus(StrEnum):
    IN_PROGRESS = "in progress"
    SUBMITTED = "submitted"


class AccessMode(StrEnum):
    OPEN_LINK = "open link"
    SINGLE_USE = "single-use links"


class CodeSource(StrEnum):
    ANALYST = "analyst"
    MODEL = "model"


class SurveyRound(Timestamped, Base):
    """One run of an instrument in a place, optionally for one collaboration."""

    __tablename__ = "survey_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    collaboration_id: Mapped[int | None] = mapped_column(
        ForeignKey("collaborations.id", ondelete="SET NULL")
    )
    instrument_key: Mapped[str] = mapped_column(String(60))
    instrument_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(Text, default="")
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=RoundStatus.OPEN.value)
    access: Mapped[str] = mapped_column(String(20), default=AccessMode.OPEN_LINK.value)
    # The open link's token; single-use links have their own rows in survey_invitations.
    open_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Areas of the place (citizen voice) and the population margins for raking.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Results are computed once per change of answers and kept here, so that a results
    # page does not recompute raking on every view.
    results_cache: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    results_version: Mapped[int] = mapped_column(Integer, default=0)
    answers_version: Mapped[int] = mapped_column(Integer, default=0)

    invitations: Mapped[list[SurveyInvitation]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )
    responses: Mapped[list[SurveyResponse]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )
    themes: Mapped[list[SurveyTheme]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="SurveyTheme.id"
    )


class SurveyInvitation(Timestamped, Base):
    """A single-use link. It answers once; after submission it says so politely."""

    __tablename__ = "survey_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round: Mapped[SurveyRound] = relationship(back_populates="invitations")


class SurveyResponse(Timestamped, Base):
    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"), unique=True
    )
    # Random key held in the respondent's cookie, so they can come back to a half-done form.
    resume_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=ResponseStatus.IN_PROGRESS.value)
    source: Mapped[str] = mapped_column(String(20), default="web")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round: Mapped[SurveyRound] = relationship(back_populates="responses")
    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class SurveyAnswer(Base):
    """One answer. Several choices are joined with '|'; a practice question may carry a note."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    question_key: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # Free text is shown beyond the analyst only after an analyst has reviewed it.
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Free-text coding: "" not yet coded, "analyst", "model", or "check" when the model
    # was unsure and the answer went back to the analyst.
    coding: Mapped[str] = mapped_column(String(20), default="")

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
    codes: Mapped[list[SurveyThemeCode]] = relationship(
        back_populates="answer", cascade="all, delete-orphan"
    )


class SurveyTheme(Timestamped, Base):
    """A theme of the free-text codebook of a round."""

    __tablename__ = "survey_themes"
    __table_args__ = (UniqueConstraint("round_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    round: Mapped[SurveyRound] = relationship(back_populates="themes")


class SurveyThemeCode(Base):
    """A theme given to a free-text answer, by an analyst or by the model."""

    __tablename__ = "survey_theme_codes"
    __table_args__ = (UniqueConstraint("answer_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(
        ForeignKey("survey_answers.id", ondelete="CASCADE"), index=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("survey_themes.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    # The model's probability; None for an analyst's code.
    confidence: Mapped[float | None] = mapped_column(Float)

    answer: Mapped[SurveyAnswer] = relationship(back_populates="codes")
    theme: Mapped[SurveyTheme] = relationship()
