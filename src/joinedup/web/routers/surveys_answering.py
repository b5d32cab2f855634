"""Answering a survey: the public pages a respondent reaches by a link, with no account.
Answers are saved section by section and can be resumed from the same browser."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.surveys import (
    answering,
    rounds,
)
from joinedup.surveys.instrument import Instrument, Section
from joinedup.surveys.models import (
    ResponseStatus,
    RoundStatus,
    SurveyInvitation,
    SurveyResponse,
    SurveyRound,
)
from joinedup.web.authz import get_db, public
from joinedup.web.forms import FormErrors
from joinedup.web.templating import render

router = APIRouter()

RESUME = "survey_resume"


# ── Respondents (no account) ────────────────────────────────────────────────────────────


def _link(session: Session, token: str) -> tuple[SurveyRound, SurveyInvitation | None, Place]:
    found = rounds.find_by_token(session, token)
    if found is None:
        raise HTTPException(status_code=404)
    round_, link = found
    place = session.get(Place, round_.place_id)
    assert place is not None
    return round_, link, place


def _resume_key(request: Request, token: str) -> str | None:
    keys = request.session.get(RESUME) or {}
    value = keys.get(token)
    return value if isinstance(value, str) else None


def _remember(request: Request, token: str, key: str) -> None:
    keys = dict(request.session.get(RESUME) or {})
    keys[token] = key
    # Keep the cookie small: a respondent rarely has more than a few surveys on the go.
    request.session[RESUME] = dict(list(keys.items())[-5:])


def _current(request: Request, session: Session, token: str,
             round_: SurveyRound) -> SurveyResponse | None:
    response = answering.find_response(session, round_, _resume_key(request, token))
    return response


def _closed_page(request: Request, round_: SurveyRound, place: Place, why: str) -> Response:
    return render(request, "surveys/answer_closed.html",
                  {"round": round_, "place": place, "why": why})


def _gate(request: Request, session: Session, token: str
          ) -> tuple[SurveyRound, SurveyInvitation | None, Place, Response | None]:
    """The round behind a link, or a polite page when it cannot be answered now."""
    round_, link, place = _link(session, token)
    if link is not None and link.used_at is not None:
        return round_, link, place, _closed_page(request, round_, place, "used")
    if not rounds.is_open(round_):
        why = "not_open" if round_.status == RoundStatus.OPEN.value and \
            date.today() < round_.opens_on else "closed"
        return round_, link, place, _closed_page(request, round_, place, why)
    return round_, link, place, None


def _section_after(inst: Instrument, key: str | None) -> Section | None:
    keys = [s.key for s in inst.sections]
    if key is None:
        return inst.sections[0]
    i = keys.index(key)
    return inst.sections[i + 1] if i + 1 < len(keys) else None


def _section_before(inst: Instrument, key: str) -> Section | None:
    keys = [s.key for s in inst.sections]
    i = keys.index(key)
    return inst.sections[i - 1] if i > 0 else None


@router.get("/s/{token}", response_class=HTMLResponse, dependencies=[Depends(public())])
def answer_start(request: Request, token: str, session: Session = Depends(get_db)) -> Response:
    round_, _link_, place, stop = _gate(request, session, token)
    if stop is not None:
        return stop
    inst = rounds.instrument_of(round_)
    current = _current(request, session, token, round_)
    if current is not None and current.status == ResponseStatus.SUBMITTED.value:
        return RedirectResponse(f"/s/{token}/done", status_code=303)
    started = current is not None
    return render(request, "surveys/answer_start.html",
                  {"round": round_, "place": place, "inst": inst, "token": token,
                   "started": started, "sections": inst.sections})


@router.post("/s/{token}/start", dependencies=[Depends(public())])
def answer_begin(request: Request, token: str, session: Session = Depends(get_db)) -> Response:
    round_, link, _place, stop = _gate(request, session, token)
    if stop is not None:
        return stop
    response = _current(request, session, token, round_)
    if response is None:
        response = answering.start_response(session, round_, link)
        _remember(request, token, response.resume_key)
        session.commit()
    inst = rounds.instrument_of(round_)
    return RedirectResponse(f"/s/{token}/{inst.sections[0].key}", status_code=303)


def _section_page(request: Request, token: str, round_: SurveyRound, place: Place,
                  section: Section, values: dict[str, list[str]], notes: dict[str, str],
                  errors: FormErrors, change: bool, status_code: int = 200) -> Response:
    inst = rounds.instrument_of(round_)
    before = _section_before(inst, section.key)
    back = f"/s/{token}/{before.key}" if before else f"/s/{token}"
    if change:
        back = f"/s/{token}/check"
    number = [s.key for s in inst.sections].index(section.key) + 1
    return render(request, "surveys/answer_section.html", {
        "round": round_, "place": place, "inst": inst, "token": token, "section": section,
        "values": values, "notes": notes, "errors": errors, "back": back, "change": change,
        "number": number, "total": len(inst.sections),
        "dynamic": rounds.dynamic_options(round_, place),
    }, status_code=status_code)


@router.get("/s/{token}/check", response_class=HTMLResponse, dependencies=[Depends(public())])
def answer_check(request: Request, token: str, session: Session = Depends(get_db)) -> Response:
    round_, _link_, place, stop = _gate(request, session, token)
    if stop is not None:
        return stop
    response = _current(request, session, token, round_)
    if response is None:
        return RedirectResponse(f"/s/{token}", status_code=303)
    if response.status == ResponseStatus.SUBMITTED.value:
        return RedirectResponse(f"/s/{token}/done", status_code=303)
    inst = rounds.instrument_of(round_)
    have = answering.answers_of(response)
    dyn = rounds.dynamic_options(round_, place)
    sections = []
    for s in inst.sections:
        rows = []
        for q in s.questions:
            a = have.get(q.key)
            text = answering.display_value(q, a.value if a else None, dyn)
            if a is not None and a.note:
                text += f" (evidence: {a.note})"
            label = q.text
            if q.role:
                label = f"{q.text} – {'importance' if q.role == 'ambition' else 'true today'}"
            rows.append({"key": {"text": label}, "value": {"text": text}})
        sections.append({"section": s, "rows": rows})
    missing = answering.missing_required(inst, response)
    return render(request, "surveys/answer_check.html", {
        "round": round_, "place": place, "inst": inst, "token": token, "sections": sections,
        "missing": missing,
    })


@router.post("/s/{token}/submit", dependencies=[Depends(public())])
def answer_submit(request: Request, token: str, session: Session = Depends(get_db)) -> Response:
    round_, _link_, _place, stop = _gate(request, session, token)
    if stop is not None:
        return stop
    response = _current(request, session, token, round_)
    if response is None:
        return RedirectResponse(f"/s/{token}", status_code=303)
    inst = rounds.instrument_of(round_)
    if response.status != ResponseStatus.SUBMITTED.value:
        if answering.missing_required(inst, response):
            return RedirectResponse(f"/s/{token}/check", status_code=303)
        answering.submit(session, response)
        session.commit()
    return RedirectResponse(f"/s/{token}/done", status_code=303)


@router.get("/s/{token}/done", response_class=HTMLResponse, dependencies=[Depends(public())])
def answer_done(request: Request, token: str, session: Session = Depends(get_db)) -> Response:
    round_, _link_, place = _link(session, token)
    response = _current(request, session, token, round_)
    if response is None or response.status != ResponseStatus.SUBMITTED.value:
        raise HTTPException(status_code=404)
    return render(request, "surveys/answer_done.html", {"round": round_, "place": place})


def _open_section(
    request: Request, session: Session, token: str, section_key: str
) -> Response | tuple[SurveyRound, Place, Instrument, Section, SurveyResponse]:
    """The round, place, instrument, section and response a respondent is on, or where to go
    instead (the round is closed, the response is new or already sent)."""
    round_, _link_, place, stop = _gate(request, session, token)
    if stop is not None:
        return stop
    inst = rounds.instrument_of(round_)
    try:
        section = inst.section(section_key)
    except KeyError:
        raise HTTPException(status_code=404) from None
    response = _current(request, session, token, round_)
    if response is None:
        return RedirectResponse(f"/s/{token}", status_code=303)
    if response.status == ResponseStatus.SUBMITTED.value:
        return RedirectResponse(f"/s/{token}/done", status_code=303)
    return round_, place, inst, section, response


@router.get("/s/{token}/{section_key}", response_class=HTMLResponse,
            dependencies=[Depends(public())])
def answer_section(request: Request, token: str, section_key: str,
                   session: Session = Depends(get_db)) -> Response:
    opened = _open_section(request, session, token, section_key)
    if isinstance(opened, Response):
        return opened
    round_, place, _inst, section, response = opened
    have = answering.answers_of(response)
    values = {k: (a.value.split("|") if a.value else []) for k, a in have.items()}
    notes = {k: a.note or "" for k, a in have.items()}
    return _section_page(request, token, round_, place, section, values, notes, FormErrors(),
                         change="change" in request.query_params)


@router.post("/s/{token}/{section_key}", dependencies=[Depends(public())])
async def answer_section_save(request: Request, token: str, section_key: str,
                              session: Session = Depends(get_db)) -> Response:
    opened = _open_section(request, session, token, section_key)
    if isinstance(opened, Response):
        return opened
    round_, place, inst, section, response = opened
    form = await request.form()
    values = {q.key: [str(v) for v in form.getlist(q.key)] for q in section.questions}
    notes = {q.key: str(form.get(f"{q.key}_note", "")) for q in section.questions}
    dyn = rounds.dynamic_options(round_, place)
    checked, problems = answering.check_section(section, values, notes, dyn)
    # Save what is valid even when something else on the page is not: nothing typed is lost.
    answering.save_answers(session, response, checked)
    session.commit()
    change = form.get("change") == "1"
    if problems:
        errors = FormErrors()
        for key, message in problems.items():
            errors.add(key, message)
        return _section_page(request, token, round_, place, section, values, notes, errors,
                             change, status_code=400)
    after = _section_after(inst, section.key)
    if change or after is None:
        return RedirectResponse(f"/s/{token}/check", status_code=303)
    return RedirectResponse(f"/s/{token}/{after.key}", status_code=303)
