"""Survey results: a round's results page, report, CSV and charts, and the coding of
free-text answers into themes. Everything shown has been through joinedup.surveys.disclosure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.places.roles import Capability
from joinedup.surveys import (
    charts,
    results,
    rounds,
    themes,
)
from joinedup.surveys.models import (
    SurveyAnswer,
    SurveyRound,
    SurveyTheme,
)
from joinedup.web.authz import Actor, client_ip, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.survey_pages import round_of, surveys_base
from joinedup.web.templating import render

router = APIRouter()



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
        "chart_base": f"{surveys_base(actor)}/{round_.id}/charts",
        "describe": charts.description,
    }


@router.get("/places/{place}/surveys/{round_id}/results", response_class=HTMLResponse)
def round_results(request: Request, round_id: int,
                  actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                  session: Session = Depends(get_db), compare: str | None = None) -> Response:
    round_ = round_of(session, actor, round_id)
    ctx = _results_context(session, actor, round_, compare)
    name = ("surveys/results_readiness.html" if round_.instrument_key == "readiness"
            else "surveys/results_citizen.html")
    return render(request, name, ctx)


@router.get("/places/{place}/surveys/{round_id}/results.csv")
def round_results_csv(round_id: int,
                      actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                      session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
    body = results.results(session, round_)
    session.commit()
    return Response(results.to_csv(body, round_.instrument_key), media_type="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="round-{round_.id}-results.csv"'})


@router.get("/places/{place}/surveys/{round_id}/report", response_class=HTMLResponse)
def round_report(request: Request, round_id: int,
                 actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                 session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
    ctx = _results_context(session, actor, round_)
    ctx["printable"] = True
    name = ("surveys/results_readiness.html" if round_.instrument_key == "readiness"
            else "surveys/results_citizen.html")
    return render(request, name, ctx)


@router.get("/places/{place}/surveys/{round_id}/charts/{name}.svg")
def round_chart(round_id: int, name: str,
                actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
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
    round_ = round_of(session, actor, round_id)
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
    round_ = round_of(session, actor, round_id)
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
    return RedirectResponse(f"{surveys_base(actor)}/{round_.id}/themes?done=coded", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/themes/add")
async def themes_add(request: Request, round_id: int,
                     actor: Actor = Depends(requires(Capability.REVIEW_FREE_TEXT)),
                     session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
    form = await request.form()
    label = str(form.get("label", "")).strip()
    try:
        themes.add_theme(session, round_, key=label, label=label,
                         description=str(form.get("description", "")))
    except ValueError:
        return RedirectResponse(f"{surveys_base(actor)}/{round_.id}/themes?done=bad-theme",
                                status_code=303)
    session.commit()
    return RedirectResponse(f"{surveys_base(actor)}/{round_.id}/themes?done=added", status_code=303)


@router.post("/places/{place}/surveys/{round_id}/themes/classify")
def themes_classify(request: Request, round_id: int,
                    actor: Actor = Depends(requires(Capability.REVIEW_FREE_TEXT)),
                    session: Session = Depends(get_db)) -> Response:
    round_ = round_of(session, actor, round_id)
    run = themes.classify(session, round_)
    session.commit()
    found = "" if run.found is None else f"{round(100 * run.found)}"
    right = "" if run.right is None else f"{round(100 * run.right)}"
    return RedirectResponse(
        f"{surveys_base(actor)}/{round_.id}/themes?done=model-{run.coded}-{run.unsure}-{found}-{right}",
        status_code=303)
