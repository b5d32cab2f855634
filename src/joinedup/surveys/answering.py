"""Answering: check each answer against its question, save a section, submit a response.

The same checks serve the web form and the CSV import, so an answer the form would refuse
cannot come in by the back door.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.surveys.instrument import MULTI_SEPARATOR, Instrument, Option, Question, Section
from joinedup.surveys.models import (
    ResponseStatus,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
    SurveyRound,
)

MAX_TEXT = 4000
MAX_NOTE = 1000


@dataclass(frozen=True)
class Checked:
    """An answer after checking: its stored value (None when blank) or an error message."""

    value: str | None
    note: str | None = None
    error: str | None = None


def check_answer(question: Question, values: Sequence[str], note: str = "",
                 dynamic: Mapping[str, Sequence[Option]] | None = None) -> Checked:
    """Check raw form or CSV values for one question; errors are GOV.UK-style messages."""
    raw = [v.strip() for v in values if v is not None and v.strip() != ""]
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        return Checked(None, error=f"The note must be {MAX_NOTE} characters or fewer")
    if not raw:
        if question.required:
            verb = "Select" if question.type in ("single", "multiple", "scale", "practice") else "Enter"
            return Checked(None, error=f"{verb} an answer to: {question.text}")
        return Checked(None, note=note or None)
    allowed = {o.value for o in question.resolved_options(dynamic)}
    if question.type == "multiple":
        unknown = [v for v in raw if v not in allowed]
        if unknown:
            return Checked(None, error=f"{', '.join(unknown)} is not one of the choices")
        if question.exclusive and question.exclusive in raw and len(raw) > 1:
            label = next((o.label for o in question.options if o.value == question.exclusive),
                         question.exclusive)
            return Checked(None, error=f"Select '{label}' on its own, or the services you used")
        ordered = [o.value for o in question.resolved_options(dynamic) if o.value in raw]
        return Checked(MULTI_SEPARATOR.join(ordered))
    if len(raw) > 1:
        return Checked(None, error=f"Give one answer to: {question.text}")
    value = raw[0]
    if question.type == "number":
        try:
            number = float(value)
        except ValueError:
            return Checked(None, error=f"Enter a number for: {question.text}")
        return Checked(f"{number:g}")
    if question.type == "text":
        if len(value) > MAX_TEXT:
            return Checked(None, error=f"The answer must be {MAX_TEXT} characters or fewer")
        return Checked(value)
    if value not in allowed:
        return Checked(None, error=f"{value!r} is not one of the choices for: {question.text}")
    keep_note = note if question.type == "practice" and note else None
    return Checked(value, note=keep_note)


def start_response(session: Session, round_: SurveyRound,
                   invitation: SurveyInvitation | None = None) -> SurveyResponse:
    if invitation is not None:
        existing = session.scalars(
            select(SurveyResponse).where(SurveyResponse.invitation_id == invitation.id)
        ).first()
        if existing is not None:
            return existing
    response = SurveyResponse(
        round_id=round_.id, invitation_id=invitation.id if invitation else None,
        resume_key=secrets.token_urlsafe(24), status=ResponseStatus.IN_PROGRESS.value,
        source="web",
    )
    session.add(response)
    session.flush()
    return response


def find_response(session: Session, round_: SurveyRound, resume_key: str | None) -> SurveyResponse | None:
    if not resume_key:
        return None
    return session.scalars(
        select(SurveyResponse).where(
            SurveyResponse.round_id == round_.id, SurveyResponse.resume_key == resume_key
        )
    ).first()


def answers_of(response: SurveyResponse) -> dict[str, SurveyAnswer]:
    return {a.question_key: a for a in response.answers}


def check_section(section: Section, form: Mapping[str, Sequence[str]],
                  notes: Mapping[str, str],
                  dynamic: Mapping[str, Sequence[Option]] | None = None,
                  ) -> tuple[dict[str, Checked], dict[str, str]]:
    """Every question of a section checked; returns answers and errors keyed by question."""
    checked: dict[str, Checked] = {}
    errors: dict[str, str] = {}
    for q in section.questions:
        result = check_answer(q, form.get(q.key, ()), notes.get(q.key, ""), dynamic)
        checked[q.key] = result
        if result.error:
            errors[q.key] = result.error
    return checked, errors


def save_answers(session: Session, response: SurveyResponse, checked: Mapping[str, Checked]) -> None:
    """Store checked answers, replacing earlier ones; a blank answer removes the old one."""
    current = answers_of(response)
    for key, result in checked.items():
        if result.error:
            continue
        old = current.get(key)
        if result.value is None:
            if old is not None:
                session.delete(old)
                response.answers.remove(old)
            continue
        if old is None:
            response.answers.append(SurveyAnswer(question_key=key, value=result.value,
                                                 note=result.note, reviewed=False, coding=""))
        elif old.value != result.value or old.note != result.note:
            old.value, old.note = result.value, result.note
            old.reviewed, old.coding = False, ""
    session.flush()


def missing_required(instrument: Instrument, response: SurveyResponse) -> list[Question]:
    have = answers_of(response)
    return [q for q in instrument.questions if q.required and q.key not in have]


def submit(session: Session, response: SurveyResponse) -> None:
    """Mark the response submitted and use up its single-use link."""
    now = datetime.now(UTC)
    response.status = ResponseStatus.SUBMITTED.value
    response.submitted_at = now
    round_ = response.round
    if response.invitation_id is not None:
        link = session.get(SurveyInvitation, response.invitation_id)
        if link is not None:
            link.used_at = now
    round_.answers_version = (round_.answers_version or 0) + 1
    session.flush()


def display_value(question: Question, value: str | None,
                  dynamic: Mapping[str, Sequence[Option]] | None = None) -> str:
    """The label a respondent saw, for 'check your answers'."""
    if value is None or value == "":
        return "Not answered"
    labels = {o.value: o.label for o in question.resolved_options(dynamic)}
    if question.type == "multiple":
        return ", ".join(labels.get(v, v) for v in value.split(MULTI_SEPARATOR))
    return labels.get(value, value)
