"""Collections: places compared from their published packages (issue 11).

Who may do what, and why: a package holds only a place's published aggregates, meant to be
shared between places, so any signed-in user may make a collection, and only its owner
may see it, add packages to it or take them out (a regional analyst's working set is
theirs). The demo collection belongs to nobody: every signed-in user can see it and no
one can change it on the web. Packages are read from uploaded files only: fetching a
web address from the server would let a user make it call addresses on its own network,
so addresses are read by the command line (``joinedup compare URL``), run by an operator.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.places.models import Membership, Place, User
from joinedup.places.roles import GRANTS, Capability, Role
from joinedup.state import collections
from joinedup.state.compare import compare
from joinedup.state.load import MAX_BYTES
from joinedup.state.publish import publish_with, zip_package
from joinedup.state.report import (
    describe_cell,
    figure,
    money_text,
    rank_text,
    to_csv,
    unit_of,
    value_rank_text,
)
from joinedup.web.authz import Actor, get_db, requires, signed_in
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import has_store, record_action, settings_of, store
from joinedup.web.templating import render

router = APIRouter()
BASE = "/collections"
MAX_FILES = 50


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _collection(request: Request, user: User, cid: str) -> collections.Collection:
    found = collections.find(_data_dir(request), cid)
    if found is None or not found.can_see(user.id):
        raise HTTPException(status_code=404)  # another's collection: do not say it exists
    return found


def _own_places(session: Session, user: User) -> list[str]:
    return list(session.scalars(select(Place.slug).join(Membership, Membership.place_id == Place.id)
                                .where(Membership.user_id == user.id)))


def _publishable(session: Session, user: User) -> list[Place]:
    """The user's places whose package they may download: those whose survey results they
    may see, since the package holds them (a viewer sees the dashboard only)."""
    rows = session.execute(select(Place, Membership.role).join(Membership, Membership.place_id == Place.id)
                           .where(Membership.user_id == user.id).order_by(Place.name)).all()
    return [place for place, role in rows if Capability.VIEW_RESULTS in GRANTS[Role(role)]]


def _list(request: Request, session: Session, user: User, errors: FormErrors,
          values: dict[str, str], status_code: int = 200) -> Response:
    return render(request, "collections/list.html", {
        "collections": collections.visible_to(_data_dir(request), user.id), "errors": errors,
        "values": values, "me": user, "publishable": _publishable(session, user)},
        status_code=status_code)


@router.get(BASE, response_class=HTMLResponse)
def collections_page(request: Request, user: User = Depends(signed_in()),
                     session: Session = Depends(get_db)) -> Response:
    return _list(request, session, user, FormErrors(), {})


@router.post(BASE)
async def collection_create(request: Request, user: User = Depends(signed_in()),
                            session: Session = Depends(get_db)) -> Response:
    form = await request.form()
    name = str(form.get("name") or "").strip()
    errors = FormErrors()
    if not name:
        errors.add("name", "Enter a name for the collection")
    elif len(name) > collections.MAX_NAME:
        errors.add("name", f"The name must be {collections.MAX_NAME} characters or fewer")
    if errors:
        return _list(request, session, user, errors, {"name": name}, status_code=400)
    created = collections.create(_data_dir(request), name, user.id)
    return RedirectResponse(f"{BASE}/{created.id}", status_code=303)


def _page(request: Request, session: Session, user: User, c: collections.Collection,
          errors: FormErrors | None = None, status_code: int = 200) -> Response:
    result = compare(collections.load_packages(c), own=_own_places(session, user))
    return render(request, "collections/compare.html", {
        "collection": c, "result": result, "errors": errors or FormErrors(),
        "can_change": c.can_change(user.id), "names": {p.slug: p.name for p in result.places},
        "own": {p.slug for p in result.places if p.own}, "packages": c.package_names(),
        "describe": describe_cell, "rank_text": rank_text, "unit_of": unit_of, "figure": figure,
        "value_rank": value_rank_text, "money": money_text,
    }, status_code=status_code)


@router.get(BASE + "/{cid}", response_class=HTMLResponse)
def collection_page(request: Request, cid: str, user: User = Depends(signed_in()),
                    session: Session = Depends(get_db)) -> Response:
    return _page(request, session, user, _collection(request, user, cid))


@router.get(BASE + "/{cid}/comparison.csv")
def collection_csv(request: Request, cid: str, user: User = Depends(signed_in())) -> Response:
    c = _collection(request, user, cid)
    return Response(to_csv(compare(collections.load_packages(c))), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{cid}-comparison.csv"'})


@router.post(BASE + "/{cid}/packages")
async def collection_upload(request: Request, cid: str, user: User = Depends(signed_in()),
                            session: Session = Depends(get_db)) -> Response:
    c = _collection(request, user, cid)
    if not c.can_change(user.id):
        raise HTTPException(status_code=403)
    form = await request.form()
    uploads = [u for u in form.getlist("packages") if not isinstance(u, str) and u.filename]
    errors = FormErrors()
    if not uploads:
        errors.add("packages", "Select one or more packages (zip files)")
    elif len(uploads) > MAX_FILES:
        errors.add("packages", f"Select {MAX_FILES} packages or fewer at a time")
    files: list[tuple[str, bytes]] = []
    for upload in uploads if not errors else []:
        data = await upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            errors.add("packages", f"{upload.filename} is larger than 20 MB, which no package is")
            break
        files.append((str(upload.filename), data))
    if errors:
        return _page(request, session, user, c, errors, status_code=400)
    # Kept even when a package fails its checks: the page names it and says what is wrong.
    for filename, data in files:
        collections.add_package(c, filename, data)
    return RedirectResponse(f"{BASE}/{c.id}", status_code=303)


@router.post(BASE + "/{cid}/packages/{name}/remove")
def collection_remove(request: Request, cid: str, name: str,
                      user: User = Depends(signed_in())) -> Response:
    c = _collection(request, user, cid)
    if not c.can_change(user.id):
        raise HTTPException(status_code=403)
    if not collections.remove_package(c, name):
        raise HTTPException(status_code=404)
    return RedirectResponse(f"{BASE}/{c.id}", status_code=303)




@router.get("/places/{place}/state/package.zip")
def place_package(request: Request, actor: Actor = Depends(requires(Capability.VIEW_RESULTS)),
                  session: Session = Depends(get_db)) -> Response:
    """The place's package, made now from its controlled figures; audited when downloaded."""
    place, settings = actor.place, settings_of(request)
    with tempfile.TemporaryDirectory() as tmp:
        if has_store(request, place.slug):
            with store(request, place.slug) as con:
                path = publish_with(session, place, con, Path(tmp) / place.slug, settings)
        else:
            path = publish_with(session, place, None, Path(tmp) / place.slug, settings)
        data = zip_package(path)
    record_action(request, session, actor, "state.package_downloaded", f"place:{place.slug}",
                  bytes=len(data))
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{place.slug}-state-of-collaboration.zip"'})
