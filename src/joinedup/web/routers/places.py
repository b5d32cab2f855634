"""Home, the framework page, and a place: its partners, services and people."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from joinedup import framework
from joinedup.places.models import User
from joinedup.places.roles import Capability
from joinedup.places.service import places_for
from joinedup.web.authz import Actor, get_db, public, requires, signed_in
from joinedup.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, user: User = Depends(signed_in()), session: Session = Depends(get_db)
) -> Response:
    return render(request, "places/home.html", {"places": places_for(session, user)})


@router.get("/framework", response_class=HTMLResponse, dependencies=[Depends(public())])
def framework_page(request: Request) -> Response:
    strands = [(s, framework.components_in(s)) for s in framework.STRANDS]
    return render(request, "places/framework.html", {"strands": strands, "source": framework.SOURCE})


@router.get("/places/{place}", response_class=HTMLResponse)
def place_overview(
    request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))
) -> Response:
    return render(request, "places/overview.html", {"place": actor.place, "actor": actor})


@router.get("/places/{place}/partners", response_class=HTMLResponse)
def partners(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    return render(request, "places/partners.html", {"place": actor.place})


@router.get("/places/{place}/services", response_class=HTMLResponse)
def services(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    return render(request, "places/services.html", {"place": actor.place})


@router.get("/places/{place}/people", response_class=HTMLResponse)
def people(request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE))) -> Response:
    members = sorted(actor.place.memberships, key=lambda m: m.user.name.lower())
    return render(request, "places/people.html", {"place": actor.place, "members": members})
