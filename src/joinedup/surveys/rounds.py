"""Rounds: open one, hand out links, close it; look a link up by its token."""

from __future__ import annotations

import io
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.csvsafe import SafeWriter
from joinedup.places.models import Place
from joinedup.surveys import instrument as instruments
from joinedup.surveys.instrument import Instrument, Option
from joinedup.surveys.models import (
    AccessMode,
    ResponseStatus,
    RoundStatus,
    SurveyInvitation,
    SurveyResponse,
    SurveyRound,
)

TOKEN_BYTES = 24
MAX_LINKS_PER_BATCH = 5000


class RoundError(ValueError):
    """A round cannot be created or changed as asked; the message says why."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_round(session: Session, place: Place, *, instrument_key: str, title: str,
                 opens_on: date, closes_on: date, audience: str = "",
                 collaboration_id: int | None = None,
                 access: AccessMode = AccessMode.OPEN_LINK,
                 areas: Mapping[str, float] | Sequence[str] | None = None,
                 status: RoundStatus = RoundStatus.OPEN) -> SurveyRound:
    """A new round of the latest version of the instrument."""
    if closes_on < opens_on:
        raise RoundError("The closing date must be on or after the opening date.")
    if not title.strip():
        raise RoundError("Enter a title for the round.")
    version = instruments.latest_version(instrument_key)
    settings: dict[str, Any] = {}
    # Margins a lead entered for the place's last round carry over: enter them once.
    earlier = session.scalars(
        select(SurveyRound).where(SurveyRound.place_id == place.id,
                                  SurveyRound.instrument_key == instrument_key)
        .order_by(SurveyRound.id.desc())
    ).first()
    if earlier is not None and (earlier.settings or {}).get("age_sex"):
        settings["age_sex"] = dict(earlier.settings["age_sex"])
    if areas:
        settings["areas"] = (
            {str(k): float(v) for k, v in areas.items()} if isinstance(areas, Mapping)
            else {str(a): 1.0 for a in areas}
        )
    round_ = SurveyRound(
        place_id=place.id, collaboration_id=collaboration_id, instrument_key=instrument_key,
        instrument_version=version, title=title.strip(), audience=audience.strip(),
        opens_on=opens_on, closes_on=closes_on, status=status.value, access=access.value,
        open_token=new_token(), settings=settings, results_version=0, answers_version=0,
    )
    session.add(round_)
    session.flush()
    return round_


def instrument_of(round_: SurveyRound) -> Instrument:
    return instruments.load(round_.instrument_key, round_.instrument_version)


def dynamic_options(round_: SurveyRound, place: Place) -> dict[str, list[Option]]:
    """Options that come from the place or the round rather than the YAML."""
    inst = instrument_of(round_)
    return {
        "partners": [Option(str(p.id), p.name) for p in place.partners],
        "levels": list(inst.levels),
        "areas": [Option(a, a) for a in (round_.settings or {}).get("areas", {})],
    }


def issue_links(session: Session, round_: SurveyRound, count: int) -> list[SurveyInvitation]:
    """A batch of single-use links for a mail merge."""
    if not 1 <= count <= MAX_LINKS_PER_BATCH:
        raise RoundError(f"Ask for between 1 and {MAX_LINKS_PER_BATCH} links at a time.")
    links = [SurveyInvitation(round_id=round_.id, token=new_token()) for _ in range(count)]
    session.add_all(links)
    round_.access = AccessMode.SINGLE_USE.value
    session.flush()
    return links


def links_csv(round_: SurveyRound, base_url: str, links: Sequence[SurveyInvitation]) -> str:
    """CSV of the links, one a row, ready for a mail merge (the round's title is the lead's
    own text, so it goes through joinedup.csvsafe like every CSV)."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writeheader(["link", "round", "closes_on"])
    for link in links:
        writer.writerow([f"{base_url.rstrip('/')}/s/{link.token}", round_.title,
                         round_.closes_on.isoformat()])
    return out.getvalue()


def is_open(round_: SurveyRound, today: date | None = None) -> bool:
    today = today or datetime.now(UTC).date()
    return (
        round_.status == RoundStatus.OPEN.value and round_.opens_on <= today <= round_.closes_on
    )


def close_round(session: Session, round_: SurveyRound) -> None:
    round_.status = RoundStatus.CLOSED.value
    round_.closed_at = datetime.now(UTC)
    session.flush()


def reopen_round(session: Session, round_: SurveyRound) -> None:
    round_.status = RoundStatus.OPEN.value
    round_.closed_at = None
    session.flush()


def find_by_token(session: Session, token: str) -> tuple[SurveyRound, SurveyInvitation | None] | None:
    """The round (and link, if single-use) behind a token, or None for an unknown token."""
    if not token or len(token) > 64:
        return None
    round_ = session.scalars(select(SurveyRound).where(SurveyRound.open_token == token)).first()
    if round_ is not None:
        if round_.access == AccessMode.SINGLE_USE.value:
            return None  # the open link is switched off once single-use links are issued
        return round_, None
    link = session.scalars(select(SurveyInvitation).where(SurveyInvitation.token == token)).first()
    if link is None:
        return None
    return link.round, link


def rounds_for_place(session: Session, place_id: int) -> list[SurveyRound]:
    return list(session.scalars(
        select(SurveyRound).where(SurveyRound.place_id == place_id)
        .order_by(SurveyRound.opens_on.desc(), SurveyRound.id.desc())
    ))


def previous_round(session: Session, round_: SurveyRound) -> SurveyRound | None:
    """The latest earlier round of the same instrument in the same place."""
    return session.scalars(
        select(SurveyRound).where(
            SurveyRound.place_id == round_.place_id,
            SurveyRound.instrument_key == round_.instrument_key,
            SurveyRound.id < round_.id,
            SurveyRound.opens_on <= round_.opens_on,
            SurveyRound.collaboration_id.is_(None) if round_.collaboration_id is None
            else SurveyRound.collaboration_id == round_.collaboration_id,
        ).order_by(SurveyRound.opens_on.desc(), SurveyRound.id.desc())
    ).first()


def submitted_count(session: Session, round_: SurveyRound) -> int:
    from sqlalchemy import func

    return int(session.scalar(
        select(func.count(SurveyResponse.id)).where(
            SurveyResponse.round_id == round_.id,
            SurveyResponse.status == ResponseStatus.SUBMITTED.value,
        )
    ) or 0)


def set_margins(session: Session, round_: SurveyRound, age_sex: Mapping[str, float] | None,
                areas: Mapping[str, float] | None) -> None:
    """Store the population margins a lead entered; None for age_sex goes back to ONS."""
    settings = dict(round_.settings or {})
    if age_sex is None:
        settings.pop("age_sex", None)
    else:
        settings["age_sex"] = {str(k): float(v) for k, v in age_sex.items()}
    if areas is not None:
        settings["areas"] = {str(k): float(v) for k, v in areas.items()}
    round_.settings = settings  # a new dict, so SQLAlchemy sees the JSON change
    round_.answers_version = (round_.answers_version or 0) + 1  # results must be recomputed
    session.flush()
