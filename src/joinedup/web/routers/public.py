"""A place's opt-in public page (issue 11): its setting for leads, and the pages anyone may read.

A place that has not opted in, or has opted out, gets the same 404 as a place that does not
exist, so that the answer never says which places use joinedup or have turned the page off.
The figures are those of joinedup.board.overview, under the place's disclosure control.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.places.public_page import (
    PublicPage,
    accessibility_text,
    apply_public_page,
    page_for,
    parse_public_page,
    published_page,
)
from joinedup.places.roles import Capability
from joinedup.places.service import get_place
from joinedup.web.authz import Actor, get_db, public, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import public_overview
from joinedup.web.templating import render

router = APIRouter()
SETTING = "/places/{place}/public-page"


def _published(session: Session, slug: str) -> tuple[Place, PublicPage]:
    place = get_place(session, slug)
    page = published_page(session, place) if place is not None else None
    if place is None or page is None:
        raise HTTPException(status_code=404)
    return place, page


def _values(page: PublicPage | None) -> dict[str, str]:
    if page is None:
        return {"enabled": "no"}
    return {"enabled": "yes" if page.enabled else "no", "contact_email": page.contact_email,
            "contact_phone": page.contact_phone, "contact_address": page.contact_address,
            "privacy_notice": page.privacy_notice,
            "accessibility_statement": page.accessibility_statement}


@router.get(SETTING, response_class=HTMLResponse)
def setting_page(request: Request, actor: Actor = Depends(requires(Capability.MANAGE_PARTNERS)),
                 session: Session = Depends(get_db)) -> Response:
    return render(request, "public/setting.html",
                  {"place": actor.place, "values": _values(page_for(session, actor.place)),
                   "errors": FormErrors(), "saved": "saved" in request.query_params})


@router.post(SETTING)
async def setting_submit(request: Request, actor: Actor = Depends(requires(Capability.MANAGE_PARTNERS)),
                         session: Session = Depends(get_db)) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    parsed, problems = parse_public_page(form)
    if parsed is None:
        return render(request, "public/setting.html",
                      {"place": actor.place, "values": form, "errors": FormErrors.from_dict(problems),
                       "saved": False}, status_code=400)
    apply_public_page(session, actor.place, parsed, actor.user)
    session.commit()
    return RedirectResponse(f"/places/{actor.place.slug}/public-page?saved=1", status_code=303)


@router.get("/public/{place}", response_class=HTMLResponse, dependencies=[Depends(public())])
def public_page(request: Request, place: str, session: Session = Depends(get_db)) -> Response:
    found, page = _published(session, place)
    return render(request, "public/page.html",
                  {"place": found, "page": page, "overview": public_overview(request, session, found)})


@router.get("/public/{place}/privacy", response_class=HTMLResponse, dependencies=[Depends(public())])
def privacy_page(request: Request, place: str, session: Session = Depends(get_db)) -> Response:
    found, page = _published(session, place)
    return render(request, "public/notice.html",
                  {"place": found, "page": page, "title": "Privacy notice", "text": page.privacy_notice})


@router.get("/public/{place}/accessibility", response_class=HTMLResponse, dependencies=[Depends(public())])
def accessibility_page(request: Request, place: str, session: Session = Depends(get_db)) -> Response:
    found, page = _published(session, place)
    return render(request, "public/notice.html",
                  {"place": found, "page": page, "title": "Accessibility statement",
                   "text": accessibility_text(found, page)})
