"""Web pages of the surveys area: answering (no account), rounds, results, themes, comparison.

This router only translates HTTP to calls on joinedup.surveys and back; the numbers all
come from joinedup.surveys.results.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from joinedup import audit
from joinedup.places.models import Place
from joinedup.places.roles import Capability
from joinedup.surveys import (
    answering,
    charts,
    comparison,
    importing,
    results,
    rounds,
    themes,
    weighting,
)
from joinedup.surveys.instrument import Instrument, Section
from joinedup.surveys.models import (
    ResponseStatus,
    RoundStatus,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
    SurveyRound,
    SurveyTheme,
)
from joinedup.web.authz import Actor, client_ip, get_db, public, requires
from joinedup.web.forms import FormErrors
from joinedup.web.templating import render

router = APIRouter()

RESUME = "survey_resume"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
INSTRUMENT_CHOICES = (
    ("readiness", "Readiness to collaborate", "Staff of the partners, on the 12 components"),
    ("citizen_voice", "Citizen voice", "Residents, on their experience of services working "
                                       "together"),
)


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


# ── Leads: rounds ───────────────────────────────────────────────────────────────────────


def _round(session: Session, actor: Actor, round_id: int) -> SurveyRound:
    round_ = session.get(SurveyRound, round_id)
    if round_ is None or round_.place_id != actor.place.id:
        raise HTTPException(status_code=404)
    return round_


def _base(actor: Actor) -> str:
    return f"/places/{actor.place.slug}/surveys"


@router.get("/places/{place}/surveys", response_class=HTMLResponse)
def surveys_home(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
                 session: Session = Depends(get_db)) -> Response:
    items = [
        {"round": r, "inst": rounds.instrument_of(r), "answers": rounds.submitted_count(session, r),
         "open": rounds.is_open(r)}
        for r in rounds.rounds_for_place(session, actor.place.id)
    ]
    return render(request, "surveys/home.html", {"place": actor.place, "items": items,
                                                  "actor": actor})


@router.get("/places/{place}/surveys/new", response_class=HTMLResponse)
def round_new(request: Request,
              actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
              session: Session = Depends(get_db)) -> Response:
    today = date.today()
    values = {"instrument": "", "title": "", "audience": "", "areas": "",
              "opens-day": str(today.day), "opens-month": str(today.month),
              "opens-year": str(today.year), "closes-day": "", "closes-month": "",
              "closes-year": ""}
    return render(request, "surveys/round_new.html", {
        "place": actor.place, "values": values, "errors": FormErrors(),
        "choices": INSTRUMENT_CHOICES, "collaborations": _collaborations(session, actor)})


def _collaborations(session: Session, actor: Actor) -> list[tuple[str, str]]:
    from joinedup.collaborations.charters import list_collaborations

    return [(str(c.id), c.name) for c in list_collaborations(session, actor.place)]


def _date_from(form: dict[str, str], name: str) -> date | None:
    try:
        return date(int(form.get(f"{name}-year", "")), int(form.get(f"{name}-month", "")),
                    int(form.get(f"{name}-day", "")))
    except ValueError:
        return None


def _parse_areas(text: str) -> tuple[dict[str, float], str | None]:
    """One area a line, optionally 'name, population'."""
    areas: dict[str, float] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _, pop = line.partition(",")
        name = name.strip()
        try:
            value = float(pop.replace(",", "").strip()) if pop.strip() else 1.0
        except ValueError:
            return {}, f"The population of {name} must be a number"
        if value <= 0:
            return {}, f"The population of {name} must be more than 0"
        areas[name] = value
    return areas, None


@router.post("/places/{place}/surveys/new")
async def round_create(request: Request,
                       actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                       session: Session = Depends(get_db)) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    errors = FormErrors()
    instrument_key = form.get("instrument", "")
    if instrument_key not in {c[0] for c in INSTRUMENT_CHOICES}:
        errors.add("instrument", "Select which survey to run")
    title = form.get("title", "").strip()
    if not title:
        errors.add("title", "Enter a title for the round")
    opens, closes = _date_from(form, "opens"), _date_from(form, "closes")
    if opens is None:
        errors.add("opens", "Enter a real opening date")
    if closes is None:
        errors.add("closes", "Enter a real closing date")
    elif opens is not None and closes < opens:
        errors.add("closes", "The closing date must be the same as or after the opening date")
    areas, area_problem = _parse_areas(form.get("areas", ""))
    if area_problem:
        errors.add("areas", area_problem)
    elif instrument_key == "citizen_voice" and len(areas) < 1:
        errors.add("areas", "Enter at least one area of the place, one a line")
    collaborations = _collaborations(session, actor)
    collaboration = form.get("collaboration", "")
    if collaboration and collaboration not in {cid for cid, _name in collaborations}:
        errors.add("collaboration", "Select a collaboration of this place, or the whole partnership")
    if errors:
        return render(request, "surveys/round_new.html", {
            "place": actor.place, "values": form, "errors": errors,
            "choices": INSTRUMENT_CHOICES, "collaborations": collaborations}, status_code=400)
    assert opens is not None and closes is not None
    round_ = rounds.create_round(
        session, actor.place, instrument_key=instrument_key, title=title, opens_on=opens,
        closes_on=closes, audience=form.get("audience", ""),
        collaboration_id=int(collaboration) if collaboration else None,
        areas=areas if instrument_key == "citizen_voice" else None)
    audit.record(session, "survey.round_created", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}", detail={"instrument": instrument_key})
    session.commit()
    return RedirectResponse(f"{_base(actor)}/{round_.id}", status_code=303)


@router.get("/places/{place}/surveys/compare", response_class=HTMLResponse)
def compare(request: Request, actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
            session: Session = Depends(get_db)) -> Response:
    body = comparison.side_by_side(session, actor.place.id)
    session.commit()  # results may have been computed and cached
    return render(request, "surveys/compare.html", {"place": actor.place, "cmp": body})


@router.get("/places/{place}/surveys/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, round_id: int,
               actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
               session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    base_url = str(request.base_url).rstrip("/")
    links = len(round_.invitations)
    used = sum(1 for i in round_.invitations if i.used_at is not None)
    names = dict(_collaborations(session, actor))
    audience = names.get(str(round_.collaboration_id), "The whole partnership")
    return render(request, "surveys/round.html", {
        "for_whom": audience,
        "place": actor.place, "round": round_, "inst": rounds.instrument_of(round_),
        "open_link": f"{base_url}/s/{round_.open_token}", "links": links, "used": used,
        "answers": rounds.submitted_count(session, round_), "is_open": rounds.is_open(round_),
        "message": request.query_params.get("done", ""),
    })


@router.post("/places/{place}/surveys/{round_id}/close")
def round_close(request: Request, round_id: int,
                actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    rounds.close_round(session, round_)
    # Work the results out now, once, so that the first person to read them does not wait.
    results.results(session, round_)
    audit.record(session, "survey.round_closed", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}")
    session.commit()
    return RedirectResponse(f"{_base(actor)}/{round_.id}?done=closed", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/reopen")
def round_reopen(request: Request, round_id: int,
                 actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                 session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    rounds.reopen_round(session, round_)
    audit.record(session, "survey.round_reopened", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}")
    session.commit()
    return RedirectResponse(f"{_base(actor)}/{round_.id}?done=reopened", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/links")
async def round_links(request: Request, round_id: int,
                      actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                      session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    form = await request.form()
    try:
        count = int(str(form.get("count", "")).strip())
        links = rounds.issue_links(session, round_, count)
    except (ValueError, rounds.RoundError):
        return RedirectResponse(f"{_base(actor)}/{round_.id}?done=bad-count", status_code=303)
    audit.record(session, "survey.links_issued", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}", detail={"count": count})
    body = rounds.links_csv(round_, str(request.base_url), links)
    session.commit()
    return Response(body, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="round-{round_.id}-links.csv"'})


@router.get("/places/{place}/surveys/{round_id}/import", response_class=HTMLResponse)
def round_import_form(request: Request, round_id: int,
                      actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                      session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    return render(request, "surveys/import.html", {"place": actor.place, "round": round_,
                                                    "report": None, "errors": FormErrors()})


@router.get("/places/{place}/surveys/{round_id}/import/template.csv")
def round_import_template(round_id: int,
                          actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                          session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    return Response(importing.template_csv(round_), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="round-{round_.id}-template.csv"'})


@router.post("/places/{place}/surveys/{round_id}/import")
async def round_import(request: Request, round_id: int,
                       actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                       session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    form = await request.form()
    upload = form.get("file")
    errors = FormErrors()
    text = ""
    if upload is None or isinstance(upload, str) or not upload.filename:
        errors.add("file", "Select a CSV file")
    else:
        raw = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            errors.add("file", "The file must be smaller than 20MB")
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                errors.add("file", "The file must be a CSV saved as UTF-8")
    if errors:
        return render(request, "surveys/import.html", {"place": actor.place, "round": round_,
                                                        "report": None, "errors": errors},
                      status_code=400)
    place = session.get(Place, actor.place.id)
    assert place is not None
    # Checked and stored in a worker thread, so that a large file never stops the server
    # answering everyone else (the session is used by one thread at a time).
    report = await run_in_threadpool(importing.import_csv, session, round_, place, text)
    audit.record(session, "survey.responses_imported", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}",
                 detail={"imported": report.imported, "rejected": report.rejected})
    session.commit()
    return render(request, "surveys/import.html", {"place": actor.place, "round": round_,
                                                    "report": report, "errors": FormErrors()})


@router.get("/places/{place}/surveys/{round_id}/margins", response_class=HTMLResponse)
def round_margins(request: Request, round_id: int,
                  actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                  session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    if round_.instrument_key != "citizen_voice":
        raise HTTPException(status_code=404)
    margins = results.margins_for(round_, actor.place)
    values = {_field(k): f"{v:.0f}" for k, v in margins.totals[weighting.AGE_SEX].items()}
    for area, v in (round_.settings or {}).get("areas", {}).items():
        values[_field("area " + area)] = f"{v:.0f}"
    return _margins_page(request, actor, round_, values, FormErrors())


def _field(label: str) -> str:
    return "m-" + "".join(ch if ch.isalnum() else "-" for ch in label.lower())


def _margins_page(request: Request, actor: Actor, round_: SurveyRound, values: dict[str, str],
                  errors: FormErrors, status_code: int = 200) -> Response:
    cells = [{"label": f"{band} {sex}", "band": band, "sex": sex,
              "field": _field(weighting.age_sex_level(band, sex))}
             for band in weighting.AGE_BANDS for sex in weighting.SEXES]
    areas = [{"label": a, "field": _field("area " + a)}
             for a in (round_.settings or {}).get("areas", {})]
    return render(request, "surveys/margins.html", {
        "place": actor.place, "round": round_, "cells": cells, "areas": areas,
        "values": values, "errors": errors,
        "entered": bool((round_.settings or {}).get("age_sex")),
    }, status_code=status_code)


@router.post("/places/{place}/surveys/{round_id}/margins")
async def round_margins_save(request: Request, round_id: int,
                             actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                             session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    if round_.instrument_key != "citizen_voice":
        raise HTTPException(status_code=404)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("reset") == "1":
        rounds.set_margins(session, round_, None, None)
        session.commit()
        return RedirectResponse(f"{_base(actor)}/{round_.id}?done=margins", status_code=303)
    errors = FormErrors()
    age_sex: dict[str, float] = {}
    for band in weighting.AGE_BANDS:
        for sex in weighting.SEXES:
            level = weighting.age_sex_level(band, sex)
            field = _field(level)
            number = _population(form.get(field, ""))
            if number is None:
                who = "women" if sex == "female" else "men"
                errors.add(field, f"Enter the number of {who} aged {band} as a whole number")
            else:
                age_sex[level] = number
    areas: dict[str, float] = {}
    for area in (round_.settings or {}).get("areas", {}):
        field = _field("area " + area)
        number = _population(form.get(field, ""))
        if number is None or number == 0:
            errors.add(field, f"Enter the adult population of {area} as a whole number")
        else:
            areas[area] = number
    if not errors and sum(age_sex.values()) == 0:
        errors.add(_field(weighting.age_sex_level("16-24", "female")),
                   "Enter at least one number of people above 0")
    if errors:
        return _margins_page(request, actor, round_, form, errors, status_code=400)
    rounds.set_margins(session, round_, age_sex, areas or None)
    audit.record(session, "survey.margins_changed", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}")
    session.commit()
    return RedirectResponse(f"{_base(actor)}/{round_.id}?done=margins", status_code=303)


def _population(text: str) -> float | None:
    cleaned = text.replace(",", "").strip()
    if not cleaned.isdigit():
        return None
    return float(cleaned)


# ── Results ─────────────────────────────────────────────────────────────────────────────


def _results_context(session: Session, actor: Actor, round_: SurveyRound,
                     compare_with: str | None = None) -> dict[str, Any]:
    body = results.results(session, round_)
    session.commit()
    inst = rounds.instrument_of(round_)
    others = [r for r in rounds.rounds_for_place(session, actor.place.id)
              if r.instrument_key == round_.instrument_key and r.id != round_.id]
    chosen = next((r for r in others if str(r.id) == compare_with), None)
    if chosen is not None and round_.instrument_key == "readiness":
        body = results.compared(session, round_, chosen)
    return {
        "others": others, "compare_with": chosen.id if chosen else None,
        "place": actor.place, "round": round_, "inst": inst, "res": body,
        "is_analyst": actor.can(Capability.REVIEW_FREE_TEXT),
        "can_manage": actor.can(Capability.MANAGE_ROUNDS),
        "chart_base": f"{_base(actor)}/{round_.id}/charts",
        "describe": charts.description,
    }


@router.get("/places/{place}/surveys/{round_id}/results", response_class=HTMLResponse)
def round_results(request: Request, round_id: int,
                  actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                  session: Session = Depends(get_db), compare: str | None = None) -> Response:
    round_ = _round(session, actor, round_id)
    ctx = _results_context(session, actor, round_, compare)
    name = ("surveys/results_readiness.html" if round_.instrument_key == "readiness"
            else "surveys/results_citizen.html")
    return render(request, name, ctx)


@router.get("/places/{place}/surveys/{round_id}/results.csv")
def round_results_csv(round_id: int,
                      actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                      session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    body = results.results(session, round_)
    session.commit()
    return Response(results.to_csv(body, round_.instrument_key), media_type="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="round-{round_.id}-results.csv"'})


@router.get("/places/{place}/surveys/{round_id}/report", response_class=HTMLResponse)
def round_report(request: Request, round_id: int,
                 actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                 session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    ctx = _results_context(session, actor, round_)
    ctx["printable"] = True
    name = ("surveys/results_readiness.html" if round_.instrument_key == "readiness"
            else "surveys/results_citizen.html")
    return render(request, name, ctx)


@router.get("/places/{place}/surveys/{round_id}/charts/{name}.svg")
def round_chart(round_id: int, name: str,
                actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    if name not in charts.FOR_INSTRUMENT.get(round_.instrument_key, ()):
        raise HTTPException(status_code=404)
    body = results.results(session, round_)
    session.commit()
    # Keyed on the minimum group size too: changing it changes which groups are drawn.
    minimum = (body.get("disclosure") or {}).get("min_group_size")
    svg = charts.cached_svg(name, round_.id, round_.results_version,
                            f"{round_.id}:{round_.results_version}:{minimum}", lambda: body)
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})


# ── Themes (analysts) ───────────────────────────────────────────────────────────────────


@router.get("/places/{place}/surveys/{round_id}/themes", response_class=HTMLResponse)
def themes_page(request: Request, round_id: int,
                actor: Actor = Depends(requires(Capability.REVIEW_FREE_TEXT)),
                session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    codebook = themes.ensure_codebook(session, round_)
    answers = themes.free_text_answers(session, round_)
    # Residents' own words are person-level: each view is recorded, like insight's.
    audit.record(session, "survey.view.free_text", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}", detail={"answers": len(answers)},
                 ip=client_ip(request))
    session.commit()
    counts = {
        "all": len(answers),
        "analyst": sum(1 for a in answers if a.coding == "analyst"),
        "model": sum(1 for a in answers if a.coding == "model"),
        "check": sum(1 for a in answers if a.coding == "check"),
        "uncoded": sum(1 for a in answers if a.coding == ""),
    }
    per_theme = {t.id: sum(1 for a in answers if a.coding == "analyst"
                           and any(c.theme_id == t.id for c in a.codes)) for t in codebook}
    return render(request, "surveys/themes.html", {
        "place": actor.place, "round": round_, "codebook": codebook,
        "queue": themes.queue(session, round_, limit=20), "counts": counts,
        "per_theme": per_theme, "min_examples": themes.MIN_EXAMPLES,
        "message": request.query_params.get("done", ""), "errors": FormErrors(),
    })


@router.post("/places/{place}/surveys/{round_id}/themes/code")
async def themes_code(request: Request, round_id: int,
                      actor: Actor = Depends(requires(Capability.REVIEW_FREE_TEXT)),
                      session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    form = await request.form()
    try:
        answer_id = int(str(form.get("answer", "")))
    except ValueError:
        raise HTTPException(status_code=400) from None
    answer = session.get(SurveyAnswer, answer_id)
    if answer is None or answer.response.round_id != round_.id:
        raise HTTPException(status_code=404)
    chosen = {str(v) for v in form.getlist(f"themes-{answer_id}")}
    picked: list[SurveyTheme] = [t for t in round_.themes if t.key in chosen]
    themes.code_by_analyst(session, answer, picked)
    results.invalidate(round_)
    session.commit()
    return RedirectResponse(f"{_base(actor)}/{round_.id}/themes?done=coded", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/themes/add")
async def themes_add(request: Request, round_id: int,
                     actor: Actor = Depends(requires(Capability.REVIEW_FREE_TEXT)),
                     session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    form = await request.form()
    label = str(form.get("label", "")).strip()
    try:
        themes.add_theme(session, round_, key=label, label=label,
                         description=str(form.get("description", "")))
    except ValueError:
        return RedirectResponse(f"{_base(actor)}/{round_.id}/themes?done=bad-theme",
                                status_code=303)
    session.commit()
    return RedirectResponse(f"{_base(actor)}/{round_.id}/themes?done=added", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/themes/classify")
def themes_classify(request: Request, round_id: int,
                    actor: Actor = Depends(requires(Capability.REVIEW_FREE_TEXT)),
                    session: Session = Depends(get_db)) -> Response:
    round_ = _round(session, actor, round_id)
    run = themes.classify(session, round_)
    session.commit()
    found = "" if run.found is None else f"{round(100 * run.found)}"
    right = "" if run.right is None else f"{round(100 * run.right)}"
    return RedirectResponse(
        f"{_base(actor)}/{round_.id}/themes?done=model-{run.coded}-{run.unsure}-{found}-{right}",
        status_code=303)
