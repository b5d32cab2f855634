"""Synthetic survey rounds for the demo place, the tests and the benchmarks.

Readiness: about 120 staff across the partners, with leaders seeing a rosier partnership
than the front line, ambition well above practice, and partners split on a few components.
A smaller baseline round a year earlier lets the demo show change.

Citizen voice: about 2,000 residents, deliberately unrepresentative (too old, too female,
too many from the town centre) with younger residents less positive, so that weighting
visibly moves the estimates. About two thirds write free text, drawn from short phrases
about the seeded themes; an analyst has coded a few per theme and the model the rest.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from joinedup.framework import COMPONENTS
from joinedup.places.models import Place
from joinedup.surveys import results, themes
from joinedup.surveys.instrument import DONT_KNOW, MULTI_SEPARATOR, PREFER_NOT, load
from joinedup.surveys.models import (
    ResponseStatus,
    RoundStatus,
    SurveyAnswer,
    SurveyResponse,
    SurveyRound,
)
from joinedup.surveys.rounds import create_round
from joinedup.surveys.weighting import AGE_BANDS

READINESS_TITLE = "Readiness to collaborate 2026"
BASELINE_TITLE = "Readiness to collaborate 2025 (baseline)"
CITIZEN_TITLE = "Your experience of local services 2026"

#: Areas of the demo borough and their adult populations (made up; they sum to the place's).
DEMO_AREAS: dict[str, float] = {
    "Northbrook Central": 41_200, "Eastfield": 33_800, "Millbrook": 30_100, "Westvale": 26_300,
}

#: Where practice stands today on each component (0–100), before group effects.
PRACTICE_BASE: dict[str, float] = {
    "insight": 46, "brokerage": 60, "design": 36, "incentives": 52, "risk": 40,
    "resources": 37, "leadership": 58, "innovation": 50, "agility": 43, "transparency": 47,
    "engagement": 31, "evidence": 45,
}
LEVEL_SHIFT = {"system_leader": 14.0, "manager": 4.0, "front_line": -9.0, "other": -2.0}
LEVEL_SHARE = {"system_leader": 0.12, "manager": 0.3, "front_line": 0.5, "other": 0.08}


@dataclass(frozen=True)
class Phrase:
    theme: str
    text: str


PHRASES: tuple[Phrase, ...] = (
    Phrase("waiting", "I waited weeks for an appointment"),
    Phrase("waiting", "the waiting list was far too long"),
    Phrase("waiting", "shorter waiting times would help"),
    Phrase("waiting", "nobody called me back for a month"),
    Phrase("retelling", "I had to tell my story again and again"),
    Phrase("retelling", "every service asked the same questions"),
    Phrase("retelling", "I filled in the same forms three times"),
    Phrase("retelling", "they should share my details so I do not repeat myself"),
    Phrase("respect", "some staff treated me like a number"),
    Phrase("respect", "I felt judged because of my past"),
    Phrase("respect", "the staff were kind and did not judge me"),
    Phrase("respect", "be treated with respect"),
    Phrase("personalised", "the help did not fit my situation"),
    Phrase("personalised", "one size fits all does not work for me"),
    Phrase("personalised", "help that fits my life and my hours"),
    Phrase("involvement", "nobody asked what I wanted"),
    Phrase("involvement", "decisions were made about me without me"),
    Phrase("involvement", "listen to people before deciding"),
    Phrase("communication", "the services do not talk to each other"),
    Phrase("communication", "nobody told me what was happening"),
    Phrase("communication", "keep me informed about my case"),
    Phrase("communication", "one person to contact would make a difference"),
    Phrase("digital", "everything is online and I do not have internet"),
    Phrase("digital", "the app kept crashing"),
    Phrase("digital", "I could not do the form on my phone"),
    Phrase("digital", "let me speak to a person instead of a website"),
)


def _agree(latent: np.ndarray, rng: np.random.Generator, dont_know: float) -> list[str]:
    """Latent 0–100 scores to answers 1–5, with some "don't know"."""
    noisy = latent + rng.normal(0, 14, latent.shape)
    points = np.clip(np.rint(noisy / 25.0) + 1, 1, 5).astype(int)
    out = [str(p) for p in points]
    for i in np.flatnonzero(rng.random(len(out)) < dont_know):
        out[i] = DONT_KNOW
    return out


def _new_response(round_: SurveyRound, submitted: datetime, source: str = "synthetic") -> SurveyResponse:
    return SurveyResponse(round_id=round_.id, resume_key=secrets.token_urlsafe(24),
                          status=ResponseStatus.SUBMITTED.value, source=source,
                          submitted_at=submitted)


def _store(session: Session, round_: SurveyRound, rows: Sequence[dict[str, str]],
           submitted: datetime) -> None:
    responses = [_new_response(round_, submitted) for _ in rows]
    session.add_all(responses)
    session.flush()
    payload = [
        {"response_id": resp.id, "question_key": k, "value": v, "note": None,
         "reviewed": False, "coding": ""}
        for resp, row in zip(responses, rows, strict=True)
        for k, v in row.items() if v is not None
    ]
    if payload:
        session.execute(insert(SurveyAnswer), payload)
    results.invalidate(round_)
    session.flush()


def readiness_rows(place: Place, n: int, seed: int, uplift: float = 0.0) -> list[dict[str, str]]:
    """`n` staff answers to the readiness instrument."""
    rng = np.random.default_rng(seed)
    inst = load("readiness")
    partners = list(place.partners)
    if not partners:
        raise ValueError("the place has no partners to survey")
    # Bigger organisations answer more; the voluntary sector is smaller.
    sizes = np.array([3.0 if p.sector in ("local government", "NHS") else 1.5 for p in partners])
    partner_idx = rng.choice(len(partners), n, p=sizes / sizes.sum())
    levels = rng.choice(list(LEVEL_SHARE), n, p=list(LEVEL_SHARE.values()))
    # Partners see some components differently: a few large effects make real splits.
    partner_effect = rng.normal(0, 5, (len(partners), len(COMPONENTS)))
    for j, comp in enumerate(COMPONENTS):
        if comp.key in ("brokerage", "resources", "risk"):
            partner_effect[:, j] += np.where(
                np.array([p.sector == "voluntary and community" for p in partners]), -22, 6)
    rows: list[dict[str, str]] = []
    for i in range(n):
        row = {"partner": str(partners[partner_idx[i]].id), "level": str(levels[i])}
        person = rng.normal(0, 6)
        for j, comp in enumerate(COMPONENTS):
            practice = (PRACTICE_BASE[comp.key] + uplift + LEVEL_SHIFT[levels[i]]
                        + partner_effect[partner_idx[i], j] + person)
            ambition = 82 + rng.normal(0, 6) + (4 if levels[i] == "system_leader" else 0)
            qs = [q for q in inst.scored_questions() if q.component == comp.key]
            amb = [q for q in qs if q.role == "ambition"]
            prac = [q for q in qs if q.role == "practice"]
            for q, v in zip(amb, _agree(np.full(len(amb), ambition), rng, 0.02), strict=True):
                row[q.key] = v
            for q, v in zip(prac, _agree(np.full(len(prac), practice), rng, 0.06), strict=True):
                row[q.key] = v
        for q in inst.questions:
            if q.type == "practice":
                p_yes = {"check_data_sharing": 0.7, "check_joint_board": 0.8,
                         "check_pooled_budget": 0.35, "check_citizens_board": 0.1}.get(q.key, 0.3)
                if levels[i] == "front_line":
                    p_yes *= 0.6  # the front line often does not know these exist
                row[q.key] = str(rng.choice(["yes", "partly", "no"],
                                            p=[p_yes, (1 - p_yes) / 2, (1 - p_yes) / 2]))
        rows.append(row)
    return rows


def citizen_rows(n: int, seed: int, areas: Sequence[str]) -> tuple[list[dict[str, str]], list[list[str]]]:
    """`n` residents' answers, and the themes behind each free-text answer."""
    rng = np.random.default_rng(seed)
    ages = list(AGE_BANDS)
    # Who answers: far older and more female than the borough, and mostly from the centre.
    age = rng.choice(ages, n, p=[0.06, 0.10, 0.13, 0.16, 0.20, 0.20, 0.15])
    sex = rng.choice(["female", "male", PREFER_NOT], n, p=[0.61, 0.37, 0.02])
    area_p = np.array([0.42, 0.24, 0.19, 0.15][: len(areas)])
    area = rng.choice(list(areas), n, p=area_p / area_p.sum())
    services = ["gp", "hospital", "mental_health", "council", "jobcentre", "police",
                "housing_association", "drug_alcohol", "voluntary"]
    use_p = np.array([0.8, 0.4, 0.12, 0.3, 0.12, 0.1, 0.15, 0.04, 0.15])
    rows: list[dict[str, str]] = []
    theme_lists: list[list[str]] = []
    freq = ["always", "often", "sometimes", "hardly_ever", "never"]
    for i in range(n):
        young = age[i] in ("16-24", "25-34", "35-44")
        used = [s for s, p in zip(services, use_p, strict=True) if rng.random() < p]
        complex_needs = any(s in used for s in ("mental_health", "drug_alcohol", "jobcentre"))
        # Younger residents and those with complex needs are less positive.
        shift = (-0.9 if young else 0.5) + (-0.7 if complex_needs else 0.0)

        def pick(base: float, shift: float = shift) -> str:
            latent = base + shift + rng.normal(0, 1.1)
            k = int(np.clip(np.rint(2 - latent), 0, 4))
            return freq[k] if rng.random() > 0.04 else DONT_KNOW

        row: dict[str, str] = {
            "services_used": MULTI_SEPARATOR.join(used) if used else "none",
            "dignity": pick(1.0),
            "personalised": pick(-0.7),
            "involved": pick(-0.9),
            "retold_story": "yes" if rng.random() < (0.62 if complex_needs else 0.38) else "no",
            "worked_together": pick(-0.4),
            "age_band": str(age[i]) if rng.random() > 0.02 else PREFER_NOT,
            "sex": str(sex[i]),
            "area": str(area[i]) if rng.random() > 0.015 else PREFER_NOT,
        }
        chosen: list[str] = []
        if rng.random() < 0.65:
            k = 1 if rng.random() < 0.7 else 2
            picks = rng.choice(len(PHRASES), k, replace=False)
            parts = [PHRASES[p] for p in picks]
            chosen = sorted({p.theme for p in parts})
            text = "; ".join(p.text for p in parts)
            row["better_together"] = text[0].upper() + text[1:] + "."
        rows.append(row)
        theme_lists.append(chosen)
    return rows, theme_lists


def _existing(session: Session, place: Place, title: str) -> SurveyRound | None:
    return session.scalars(select(SurveyRound).where(SurveyRound.place_id == place.id,
                                                     SurveyRound.title == title)).first()


def _closed_round(session: Session, place: Place, key: str, title: str, opens: date,
                  areas: dict[str, float] | None = None) -> SurveyRound:
    round_ = create_round(session, place, instrument_key=key, title=title, opens_on=opens,
                          closes_on=opens + timedelta(days=28), areas=areas,
                          audience="Demo round, generated")
    round_.status = RoundStatus.CLOSED.value
    round_.closed_at = datetime.combine(opens + timedelta(days=28), datetime.min.time(), UTC)
    return round_


def _code_demo_themes(session: Session, round_: SurveyRound, truth: list[list[str]],
                      per_theme: int = 12) -> None:
    """Play the analyst: code a dozen answers per theme by hand, then run the model."""
    codebook = {t.key: t for t in themes.ensure_codebook(session, round_)}
    answers = themes.free_text_answers(session, round_)
    by_response = {r.id: i for i, r in enumerate(sorted(round_.responses, key=lambda r: r.id))}
    done: dict[str, int] = dict.fromkeys(codebook, 0)
    for answer in answers:
        keys = truth[by_response[answer.response_id]]
        if keys and any(done[k] < per_theme for k in keys):
            themes.code_by_analyst(session, answer, [codebook[k] for k in keys])
            for k in keys:
                done[k] += 1
    themes.classify(session, round_)


def load_demo_surveys(session: Session, place_slug: str) -> None:
    """Closed readiness rounds (baseline and this year) and a citizen-voice round; idempotent."""
    place = session.scalars(select(Place).where(Place.slug == place_slug)).one()
    today = date(2026, 10, 1)
    if _existing(session, place, BASELINE_TITLE) is None:
        base = _closed_round(session, place, "readiness", BASELINE_TITLE, today - timedelta(365))
        _store(session, base, readiness_rows(place, 90, seed=2025, uplift=-5.0),
               datetime(2025, 10, 20, tzinfo=UTC))
    if _existing(session, place, READINESS_TITLE) is None:
        now = _closed_round(session, place, "readiness", READINESS_TITLE, today)
        _store(session, now, readiness_rows(place, 120, seed=2026),
               datetime(2026, 10, 20, tzinfo=UTC))
        results.results(session, now)
    if _existing(session, place, CITIZEN_TITLE) is None:
        voice = _closed_round(session, place, "citizen_voice", CITIZEN_TITLE,
                              today - timedelta(days=14), areas=DEMO_AREAS)
        rows, truth = citizen_rows(2000, seed=4242, areas=list(DEMO_AREAS))
        _store(session, voice, rows, datetime(2026, 10, 10, tzinfo=UTC))
        session.refresh(voice)
        _code_demo_themes(session, voice, truth)
        results.results(session, voice)
