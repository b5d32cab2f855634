"""Home, the framework page, and a place: its overview, people, settings and audit log.

Its partners and services are in web/routers/partners.py."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup import audit, framework
from joinedup.collaborations.charters import list_collaborations
from joinedup.collaborations.models import Status
from joinedup.places.models import User
from joinedup.places.public_page import published_page
from joinedup.places.registry import may_create_place
from joinedup.places.roles import Capability
from joinedup.places.service import places_for
from joinedup.places.settings import FLOORS, apply_settings, parse_settings
from joinedup.surveys.rounds import is_open, rounds_for_place
from joinedup.web.authz import Actor, get_db, public, requires, signed_in
from joinedup.web.forms import FormErrors
from joinedup.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: User = Depends(signed_in()), session: Session = Depends(get_db)) -> Response:
    return render(request, "places/home.html", {"places": places_for(session, user),
                                                "may_create_place": may_create_place(session, user)})


@router.get("/framework", response_class=HTMLResponse, dependencies=[Depends(public())])
def framework_page(request: Request) -> Response:
    strands = [(s, framework.components_in(s)) for s in framework.STRANDS]
    return render(request, "places/framework.html", {"strands": strands, "source": framework.SOURCE})


@router.get("/places/{place}", response_class=HTMLResponse)
def place_overview(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    collaborations = list_collaborations(session, actor.place)
    by_status = Counter(c.status for c in collaborations)
    survey_rounds = rounds_for_place(session, actor.place.id)
    return render(
        request,
        "places/overview.html",
        {
            "place": actor.place,
            "actor": actor,
            "collaborations": collaborations,
            "by_status": [(s.value, by_status.get(s.value, 0)) for s in Status],
            "survey_rounds": survey_rounds,
            "open_rounds": sum(1 for r in survey_rounds if is_open(r)),
            # Issue 11: whether anyone can read the place's figures without signing in.
            "public_on": published_page(session, actor.place) is not None,
            "may_publish": actor.can(Capability.MANAGE_PARTNERS),
        },
    )


@router.get("/places/{place}/people", response_class=HTMLResponse)
def people(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    members = sorted(actor.place.memberships, key=lambda m: m.user.name.lower())
    return render(request, "places/people.html", {"place": actor.place, "members": members})


@router.get("/places/{place}/settings", response_class=HTMLResponse)
def settings_page(request: Request, actor: Actor = Depends(requires(Capability.EDIT_PLACE))) -> Response:
    p = actor.place
    values = {
        "adult_population": str(p.adult_population or ""),
        "disclosure_threshold": str(p.disclosure_threshold),
        "disclosure_rounding": str(p.disclosure_rounding),
        "min_group_size": str(p.min_group_size),
    }
    return render(
        request,
        "places/settings.html",
        {"place": p, "values": values, "errors": FormErrors(), "saved": "saved" in request.query_params,
         "floors": FLOORS},
    )


@router.post("/places/{place}/settings")
async def settings_submit(
    request: Request,
    actor: Actor = Depends(requires(Capability.EDIT_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    parsed, problems = parse_settings(form)
    if parsed is None:
        errors = FormErrors()
        for field, message in problems.items():
            errors.add(field, message)
        return render(
            request,
            "places/settings.html",
            {"place": actor.place, "values": form, "errors": errors, "saved": False, "floors": FLOORS},
            status_code=400,
        )
    # actor was loaded in this request's session (FastAPI shares get_db within a request).
    apply_settings(session, actor.place, parsed, actor.user)
    session.commit()
    return RedirectResponse(f"/places/{actor.place.slug}/settings?saved=1", status_code=303)


@router.get("/places/{place}/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_AUDIT)),
    session: Session = Depends(get_db),
    action: str = "",
    by: str = Query("", alias="actor"),
) -> Response:
    entries = audit.search(session, place_id=actor.place.id, action=action, actor=by, limit=300)
    return render(request, "places/audit.html",
                  {"place": actor.place, "entries": entries, "action": action, "actor": by})
