"""Survey rounds for leads: opening, closing, links, importing responses, population
margins for weighting, and the staff-beside-citizen comparison. The numbers all come from
joinedup.surveys; this router only translates HTTP to calls and back."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from joinedup import audit
from joinedup.insight.witness import data_witnesses
from joinedup.places.models import Place
from joinedup.places.roles import Capability
from joinedup.surveys import (
    comparison,
    importing,
    results,
    rounds,
    weighting,
)
from joinedup.surveys.models import (
    SurveyRound,
)
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import has_store, place_ctx, store
from joinedup.web.survey_pages import round_of, surveys_base
from joinedup.web.templating import render

router = APIRouter()

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
INSTRUMENT_CHOICES = (
    ("readiness", "Readiness to collaborate", "Staff of the partners, on the 12 components"),
    ("citizen_voice", "Citizen voice", "Residents, on their experience of services working "
                                       "together"),
)


# ── Leads: rounds ───────────────────────────────────────────────────────────────────────


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
    return RedirectResponse(f"{surveys_base(actor)}/{round_.id}", status_code=303)


@router.get("/places/{place}/surveys/compare", response_class=HTMLResponse)
def compare(request: Request, actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
            session: Session = Depends(get_db), staff: str = "", residents: str = "") -> Response:
    body = comparison.side_by_side(session, actor.place.id, staff_round_id=_round_id(staff),
                                   voice_round_id=_round_id(residents))  # fmt: skip
    session.commit()  # results may have been computed and cached
    witnesses = {}
    if has_store(request, actor.place.slug):
        with store(request, actor.place.slug) as con:
            witnesses = data_witnesses(con, place_ctx(request, actor))
    return render(request, "surveys/compare.html",
                  {"place": actor.place, "cmp": body, "witnesses": witnesses})


def _round_id(text: str) -> int | None:
    """A round chosen in the address; anything else means 'no choice', not an error page."""
    return int(text) if text.isdigit() else None


@router.get("/places/{place}/surveys/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, round_id: int,
               actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
               session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
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
    round_ = round_of(session, actor, round_id)
    rounds.close_round(session, round_)
    # Work the results out now, once, so that the first person to read them does not wait.
    results.results(session, round_)
    audit.record(session, "survey.round_closed", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}")
    session.commit()
    return RedirectResponse(f"{surveys_base(actor)}/{round_.id}?done=closed", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/reopen")
def round_reopen(request: Request, round_id: int,
                 actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                 session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
    rounds.reopen_round(session, round_)
    audit.record(session, "survey.round_reopened", actor_id=actor.user.id,
                 actor_label=actor.user.email, place_id=actor.place.id,
                 subject=f"round {round_.id}")
    session.commit()
    return RedirectResponse(f"{surveys_base(actor)}/{round_.id}?done=reopened", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/links")
async def round_links(request: Request, round_id: int,
                      actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                      session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
    form = await request.form()
    try:
        count = int(str(form.get("count", "")).strip())
        links = rounds.issue_links(session, round_, count)
    except (ValueError, rounds.RoundError):
        return RedirectResponse(f"{surveys_base(actor)}/{round_.id}?done=bad-count", status_code=303)
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
    round_ = round_of(session, actor, round_id)
    return render(request, "surveys/import.html", {"place": actor.place, "round": round_,
                                                    "report": None, "errors": FormErrors()})


@router.get("/places/{place}/surveys/{round_id}/import/template.csv")
def round_import_template(round_id: int,
                          actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                          session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
    return Response(importing.template_csv(round_), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="round-{round_.id}-template.csv"'})


@router.post("/places/{place}/surveys/{round_id}/import")
async def round_import(request: Request, round_id: int,
                       actor: Actor = Depends(requires(Capability.MANAGE_ROUNDS)),
                       session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
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
    round_ = round_of(session, actor, round_id)
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
    round_ = round_of(session, actor, round_id)
    if round_.instrument_key != "citizen_voice":
        raise HTTPException(status_code=404)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("reset") == "1":
        rounds.set_margins(session, round_, None, None)
        session.commit()
        return RedirectResponse(f"{surveys_base(actor)}/{round_.id}?done=margins", status_code=303)
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
    return RedirectResponse(f"{surveys_base(actor)}/{round_.id}?done=margins", status_code=303)


def _population(text: str) -> float | None:
    cleaned = text.replace(",", "").strip()
    if not cleaned.isdigit():
        return None
    return float(cleaned)
