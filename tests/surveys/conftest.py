"""Fixtures of the surveys tests: a place with partners and a round of each instrument."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.surveys.models import SurveyRound
from joinedup.surveys.rounds import create_round
from tests.support.factories import make_place


@pytest.fixture
def place(session: Session) -> Place:
    p = make_place(session)
    session.commit()
    return p


@pytest.fixture
def readiness_round(session: Session, place: Place) -> SurveyRound:
    r = create_round(session, place, instrument_key="readiness", title="Readiness test",
                     opens_on=date(2020, 1, 1), closes_on=date(2099, 1, 1))
    session.commit()
    return r


@pytest.fixture
def voice_round(session: Session, place: Place) -> SurveyRound:
    r = create_round(session, place, instrument_key="citizen_voice", title="Voice test",
                     opens_on=date(2020, 1, 1), closes_on=date(2099, 1, 1),
                     areas={"North": 30_000, "South": 20_000})
    session.commit()
    return r
