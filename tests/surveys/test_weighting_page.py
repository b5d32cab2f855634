"""The citizen results page says what the weighting did, from the data: who answered more
often and who less, and whether any weight was capped."""

from __future__ import annotations

import html

import pytest
from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.places.roles import Role
from joinedup.surveys import results
from tests.support.client import PageClient
from tests.support.factories import make_user
from tests.surveys.test_web import _seed_results


def test_citizen_page_says_who_answered_more_often_from_the_data(
    client: PageClient, session: Session, place: Place
) -> None:
    _, voice = _seed_results(session, place)
    analyst = make_user(session, place, Role.ANALYST)
    session.commit()
    client.sign_in(analyst.email)
    page = client.get(f"/places/testville/surveys/{voice.id}/results").text
    body = results.results(session, voice)
    # The old fixed sentence is gone; the computed one is on the page.
    assert "older residents and women answered more often" not in page
    sentence = body["representation_sentence"]
    assert sentence.startswith("Here ") and html.escape(sentence) in page
    # Its shares are the respondents' own, against the margins.
    answers = results.answers_frame(session, voice)
    complete = answers[answers["sex"].isin(["female", "male"])
                       & answers["age_band"].notna() & (answers["age_band"] != "prefer_not")
                       & answers["area"].isin(["North", "South"])]
    women = next(r for r in body["representation"]
                 if r["variable"] == "sex" and r["level"] == "female")
    assert women["sample_share"] == pytest.approx((complete["sex"] == "female").mean())
    north = next(r for r in body["representation"] if r["level"] == "North")
    assert north["population_share"] == pytest.approx(0.6)
    # The weights row says what the cap did, never a bare "trimmed".
    assert html.escape(body["cap_summary"]) in page
    assert ", trimmed" not in page and ", not trimmed" not in page
