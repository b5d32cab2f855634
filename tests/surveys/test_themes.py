"""Free-text themes: analyst codes, the model codes the rest, unsure answers come back."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.surveys import results, themes
from joinedup.surveys.models import SurveyRound
from joinedup.synth.surveys import _store

TEXTS = {
    "waiting": ["I waited weeks for an appointment", "the waiting list was too long",
                "waited months to be seen", "shorter waiting times please"],
    "retelling": ["I had to tell my story again", "every service asked the same questions",
                  "repeat my story to everyone", "tell my story once please"],
    "digital": ["everything is online and I have no internet", "the app kept crashing",
                "the website form did not work on my phone", "let me talk to a person not a website"],
}


def _round_with_text(session: Session, round_: SurveyRound, copies: int = 3) -> None:
    rows = []
    for _theme, texts in TEXTS.items():
        for text in texts:
            for i in range(copies):
                rows.append({"services_used": "gp", "age_band": "45-54", "sex": "female",
                             "area": "North" if i % 2 else "South",
                             "better_together": f"{text} ({i})"})
    _store(session, round_, rows, datetime.now(UTC))
    session.commit()


def test_model_codes_the_rest_from_a_few_examples(session: Session, place: Place,
                                                  voice_round: SurveyRound) -> None:
    _round_with_text(session, voice_round)
    book = {t.key: t for t in themes.ensure_codebook(session, voice_round)}
    answers = themes.free_text_answers(session, voice_round)
    assert len(answers) == 36
    # The analyst codes the first copy of each text.
    for a in answers:
        if a.value.endswith("(0)"):
            key = next(k for k, texts in TEXTS.items() if any(a.value.startswith(t) for t in texts))
            themes.code_by_analyst(session, a, [book[key]])
    run = themes.classify(session, voice_round)
    assert set(run.trained) == set(TEXTS) and run.coded == 24
    assert run.found is not None and run.right is not None
    assert 0 < run.found <= 1 and 0 < run.right <= 1
    right = 0
    for a in themes.free_text_answers(session, voice_round):
        if a.coding in ("model", "check"):
            truth = next(k for k, texts in TEXTS.items() if any(a.value.startswith(t) for t in texts))
            right += int(any(c.theme.key == truth for c in a.codes))
    assert right >= 20  # near-duplicates of the examples: the model should get them
    assert themes.queue(session, voice_round) == [
        a for a in themes.free_text_answers(session, voice_round) if a.coding == "check"
    ]


def test_themes_without_examples_are_not_modelled(session: Session, place: Place,
                                                  voice_round: SurveyRound) -> None:
    _round_with_text(session, voice_round, copies=1)
    book = {t.key: t for t in themes.ensure_codebook(session, voice_round)}
    first = themes.free_text_answers(session, voice_round)[0]
    themes.code_by_analyst(session, first, [book["waiting"]])
    run = themes.classify(session, voice_round)
    assert run.trained == [] and run.coded == 0
    assert "respect" in run.untrained


def test_quotes_only_when_reviewed_and_from_large_enough_areas(
    session: Session, place: Place, voice_round: SurveyRound
) -> None:
    _round_with_text(session, voice_round, copies=3)
    book = {t.key: t for t in themes.ensure_codebook(session, voice_round)}
    answers = themes.free_text_answers(session, voice_round)
    frame = results.answers_frame(session, voice_round)
    # One answer moves to an area of its own: too small to quote from.
    tiny = next(a for a in answers if frame.loc[a.response_id, "area"] == "North")
    frame.loc[tiny.response_id, "area"] = "Tiny"
    themes.code_by_analyst(session, tiny, [book["waiting"]])
    assert themes.quotes(session, voice_round, book["waiting"], frame, 5) == []
    other = next(a for a in answers if frame.loc[a.response_id, "area"] == "South"
                 and a.value.startswith("I waited"))
    assert themes.quotes(session, voice_round, book["waiting"], frame, 5) == []
    themes.code_by_analyst(session, other, [book["waiting"]])
    assert themes.quotes(session, voice_round, book["waiting"], frame, 5) == [other.value]


def test_theme_columns_leave_out_people_who_wrote_nothing(session: Session, place: Place,
                                                          voice_round: SurveyRound) -> None:
    _round_with_text(session, voice_round, copies=1)
    _store(session, voice_round, [{"services_used": "gp", "age_band": "45-54", "sex": "male",
                                   "area": "North"}], datetime.now(UTC))
    book = {t.key: t for t in themes.ensure_codebook(session, voice_round)}
    answers = themes.free_text_answers(session, voice_round)
    themes.code_by_analyst(session, answers[0], [book["waiting"]])
    frame = results.answers_frame(session, voice_round)
    cols = themes.theme_columns(session, voice_round, frame.index)
    assert list(cols) == ["waiting"]
    col = cols["waiting"]
    assert col.isna().sum() == 1 and (col == "yes").sum() == 1
    assert isinstance(col, pd.Series)
