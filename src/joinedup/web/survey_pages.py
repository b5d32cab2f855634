"""What the survey pages share: finding a round of the actor's place, and the area's base
address. Used by the survey routers only; no business logic."""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.orm import Session

from joinedup.surveys.models import SurveyRound
from joinedup.web.authz import Actor


def round_of(session: Session, actor: Actor, round_id: int) -> SurveyRound:
    round_ = session.get(SurveyRound, round_id)
    if round_ is None or round_.place_id != actor.place.id:
        raise HTTPException(status_code=404)
    return round_


def surveys_base(actor: Actor) -> str:
    return f"/places/{actor.place.slug}/surveys"
