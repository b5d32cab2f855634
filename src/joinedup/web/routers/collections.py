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

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.places.models import Membership, Place, User
from joinedup.state import collections as store
from joinedup.state.compare import compare
from joinedup.state.load import MAX_BYTES
from joinedup.state.report import describe_cell, figure, rank_text, to_csv, unit_of
from joinedup.web.authz import get_db, signed_in
from joinedup.web.forms import FormErrors
from joinedup.web.templating import render

router = APIRouter()
BASE = "/collections"
MAX_FILES = 50


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _collection(request: Request, user: User, cid: str) -> store.Collection:
    found = store.find(_data_dir(request), cid)
    if found is None or not found.can_see(user.id):
        raise HTTPException(status_code=404)  # another's collection: do not say it exists
    return found


def _own_places(session: Session, user: User) -> list[str]:
    return list(session.scalars(select(Place.slug).join(Membership, Membership.place_id == Place.id)
                                .where(Membership.user_id == user.id)))


@router.get(BASE, response_class=HTMLResponse)
def collections_page(request: Request, user: User = Depends(signed_in())) -> Response:
    return render(request, "collections/list.html", {
        "collections": store.visible_to(_data_dir(request), user.id), "errors": FormErrors(),
        "values": {}, "me": user})


@router.post(BASE)
async def collection_create(request: Request, user: User = Depends(signed_in())) -> Response:
    form = await request.form()
    name = str(form.get("name") or "").strip()
    errors = FormErrors()
    if not name:
        errors.add("name", "Enter a name for the collection")
    elif len(name) > store.MAX_NAME:
        errors.add("name", f"The name must be {store.MAX_NAME} characters or fewer")
    if errors:
        return render(request, "collections/list.html", {
            "collections": store.visible_to(_data_dir(request), user.id), "errors": errors,
            "values": {"name": name}, "me": user}, status_code=400)
    created = store.create(_data_dir(request), name, user.id)
    return RedirectResponse(f"{BASE}/{created.id}", status_code=303)


def _page(request: Request, session: Session, user: User, c: store.Collection,
          errors: FormErrors | None = None, status_code: int = 200) -> Response:
    result = compare(store.load_packages(c), own=_own_places(session, user))
    return render(request, "collections/compare.html", {
        "collection": c, "result": result, "errors": errors or FormErrors(),
        "can_change": c.can_change(user.id), "names": {p.slug: p.name for p in result.places},
        "own": {p.slug for p in result.places if p.own}, "packages": c.package_names(),
        "describe": describe_cell, "rank_text": rank_text, "unit_of": unit_of, "figure": figure,
    }, status_code=status_code)


@router.get(BASE + "/{cid}", response_class=HTMLResponse)
def collection_page(request: Request, cid: str, user: User = Depends(signed_in()),
                    session: Session = Depends(get_db)) -> Response:
    return _page(request, session, user, _collection(request, user, cid))


@router.get(BASE + "/{cid}/comparison.csv")
def collection_csv(request: Request, cid: str, user: User = Depends(signed_in())) -> Response:
    c = _collection(request, user, cid)
    return Response(to_csv(compare(store.load_packages(c))), media_type="text/csv",
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
        store.add_package(c, filename, data)
    return RedirectResponse(f"{BASE}/{c.id}", status_code=303)


@router.post(BASE + "/{cid}/packages/{name}/remove")
def collection_remove(request: Request, cid: str, name: str,
                      user: User = Depends(signed_in())) -> Response:
    c = _collection(request, user, cid)
    if not c.can_change(user.id):
        raise HTTPException(status_code=403)
    if not store.remove_package(c, name):
        raise HTTPException(status_code=404)
    return RedirectResponse(f"{BASE}/{c.id}", status_code=303)


