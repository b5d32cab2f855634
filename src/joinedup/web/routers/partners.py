"""A place sets itself up: creating a place, and its partners and services (list, add, change,
retire, reinstate, delete, import and export as CSV).

The rules live in places.registry and places.registry_csv; this router only turns forms into
calls and errors into the GOV.UK error pattern. Leads and administrators change the registry
(Capability.MANAGE_PARTNERS); everyone with a role in the place reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from joinedup.places import registry, registry_csv
from joinedup.places.colours import colour_for_slot
from joinedup.places.models import Partner, Place, Sector, Service, ServiceStatus, User
from joinedup.places.registry import By, PlaceError, StoreSources
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, client_ip, get_db, requires, signed_in
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.templating import render

router = APIRouter()

BASE = "/places/{place}"
FLASH = "registry_flash"
READ = requires(Capability.VIEW_PLACE)
MANAGE = requires(Capability.MANAGE_PARTNERS)
MAX_IMPORT_BYTES = 2**20


def _errors(exc: PlaceError, on: str = "") -> FormErrors:
    """The error on its own field, or on ``on`` for a page whose only field is a question."""
    errors = FormErrors()
    errors.add(on or exc.field or "name", str(exc))
    return errors


def _by(request: Request, actor: Actor) -> By:
    return By(actor.user, client_ip(request))


def _sources(request: Request, place: Place) -> StoreSources:
    return registry.store_sources(Path(request.app.state.settings.insight_dir), place.slug)


def _partner(session: Session, actor: Actor, partner_id: int) -> Partner:
    found = registry.find_partner(session, actor.place, partner_id)
    if found is None:
        raise HTTPException(status_code=404)
    return found


def _service(session: Session, actor: Actor, service_id: int) -> Service:
    found = registry.find_service(session, actor.place, service_id)
    if found is None:
        raise HTTPException(status_code=404)
    return found


def _partners_url(actor: Actor, partner: Partner | None = None) -> str:
    return f"/places/{actor.place.slug}/partners" + (f"/{partner.id}" if partner else "")


def _done(request: Request, message: str, url: str) -> Response:
    request.session[FLASH] = message
    return RedirectResponse(url, status_code=303)


def _common(request: Request, actor: Actor, **extra: Any) -> dict[str, Any]:
    return {"place": actor.place, "actor": actor, "manage": actor.can(Capability.MANAGE_PARTNERS),
            "sectors": list(Sector), "statuses": list(ServiceStatus), "colour": colour_for_slot, **extra}


# ---------------------------------------------------------------- a new place


def _may_create(session: Session, user: User) -> None:
    if not registry.may_create_place(session, user):
        raise HTTPException(status_code=403)


@router.get("/places/new", response_class=HTMLResponse)
def place_new(request: Request, user: User = Depends(signed_in()),
              session: Session = Depends(get_db)) -> Response:
    _may_create(session, user)
    return render(request, "places/place_new.html", {"values": {}, "errors": FormErrors()})


@router.post("/places/new", response_class=HTMLResponse)
def place_new_submit(request: Request, user: User = Depends(signed_in()),
                     session: Session = Depends(get_db),
                     form: dict[str, str] = Depends(form_data)) -> Response:
    _may_create(session, user)
    try:
        place = registry.create_place_for(
            session, user, name=form.get("name", ""), slug=form.get("slug", ""),
            adult_population=form.get("adult_population", ""),
            description=form.get("description", ""), ip=client_ip(request))
    except PlaceError as exc:
        session.rollback()
        return render(request, "places/place_new.html", {"values": form, "errors": _errors(exc)},
                      status_code=400)
    slug, name = place.slug, place.name
    session.commit()
    return _done(request, f"{name} is set up and you are its administrator. Add its partners next",
                 f"/places/{slug}/partners")


# ---------------------------------------------------------------- partners


@router.get(BASE + "/partners", response_class=HTMLResponse)
def partners(request: Request, actor: Actor = Depends(READ)) -> Response:
    return render(request, "places/partners.html",
                  _common(request, actor, flash=request.session.pop(FLASH, None)))


@router.get(BASE + "/partners/export.csv")
def partners_export(actor: Actor = Depends(MANAGE)) -> Response:
    return _csv(actor, "partners", registry_csv.partners_csv(actor.place))


@router.get(BASE + "/services/export.csv")
def services_export(actor: Actor = Depends(MANAGE)) -> Response:
    return _csv(actor, "services", registry_csv.services_csv(actor.place))


def _csv(actor: Actor, what: str, body: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{actor.place.slug}-{what}.csv"',
        "Cache-Control": "no-store"})


@router.get(BASE + "/partners/add", response_class=HTMLResponse)
def partner_add(request: Request, actor: Actor = Depends(MANAGE)) -> Response:
    return render(request, "places/partners_form.html",
                  _common(request, actor, partner=None, values={}, errors=FormErrors()))


@router.post(BASE + "/partners/add", response_class=HTMLResponse)
def partner_add_submit(request: Request, actor: Actor = Depends(MANAGE),
                       session: Session = Depends(get_db),
                       form: dict[str, str] = Depends(form_data)) -> Response:
    try:
        partner = registry.add_partner(session, actor.place, name=form.get("name", ""),
                                       sector=form.get("sector", ""), website=form.get("website", ""),
                                       by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        return render(request, "places/partners_form.html",
                      _common(request, actor, partner=None, values=form, errors=_errors(exc)),
                      status_code=400)
    name, url = partner.name, _partners_url(actor, partner)
    session.commit()
    return _done(request, f"{name} added. Add the services it provides", url)


@router.get(BASE + "/partners/{partner_id:int}", response_class=HTMLResponse)
def partner_page(request: Request, partner_id: int, actor: Actor = Depends(READ),
                 session: Session = Depends(get_db)) -> Response:
    partner = _partner(session, actor, partner_id)
    return render(request, "places/partners_one.html",
                  _common(request, actor, partner=partner, flash=request.session.pop(FLASH, None)))


@router.get(BASE + "/partners/{partner_id:int}/edit", response_class=HTMLResponse)
def partner_edit(request: Request, partner_id: int, actor: Actor = Depends(MANAGE),
                 session: Session = Depends(get_db)) -> Response:
    partner = _partner(session, actor, partner_id)
    values = {"name": partner.name, "sector": partner.sector, "website": partner.website}
    return render(request, "places/partners_form.html",
                  _common(request, actor, partner=partner, values=values, errors=FormErrors()))


@router.post(BASE + "/partners/{partner_id:int}/edit", response_class=HTMLResponse)
def partner_edit_submit(request: Request, partner_id: int, actor: Actor = Depends(MANAGE),
                        session: Session = Depends(get_db),
                        form: dict[str, str] = Depends(form_data)) -> Response:
    partner = _partner(session, actor, partner_id)
    try:
        changes = registry.edit_partner(
            session, partner, name=form.get("name", ""), sector=form.get("sector", ""),
            website=form.get("website", ""), sources=_sources(request, actor.place),
            by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        return render(request, "places/partners_form.html",
                      _common(request, actor, partner=partner, values=form, errors=_errors(exc)),
                      status_code=400)
    name, url = partner.name, _partners_url(actor, partner)
    session.commit()
    return _done(request, f"{name} saved" if changes else "No changes to save", url)


def _confirm(request: Request, actor: Actor, template: str, errors: FormErrors, status: int = 200,
             **extra: Any) -> Response:
    return render(request, template, _common(request, actor, errors=errors, **extra), status_code=status)


def _unconfirmed(form: dict[str, str], question: str) -> FormErrors | None:
    """None when the answer is yes; errors when there is none; an empty FormErrors for no."""
    answer = form.get("confirm")
    if answer == "yes":
        return None
    errors = FormErrors()
    if answer != "no":
        errors.add("confirm", question)
    return errors


@router.get(BASE + "/partners/{partner_id:int}/retire", response_class=HTMLResponse)
def partner_retire(request: Request, partner_id: int, actor: Actor = Depends(MANAGE),
                   session: Session = Depends(get_db)) -> Response:
    partner = _partner(session, actor, partner_id)
    return _confirm(request, actor, "places/partners_retire.html", FormErrors(), partner=partner)


@router.post(BASE + "/partners/{partner_id:int}/retire", response_class=HTMLResponse)
def partner_retire_submit(request: Request, partner_id: int, actor: Actor = Depends(MANAGE),
                          session: Session = Depends(get_db),
                          form: dict[str, str] = Depends(form_data)) -> Response:
    partner = _partner(session, actor, partner_id)
    errors = _unconfirmed(form, f"Select yes if you want to retire {partner.name}")
    if errors is not None:
        if not errors:
            return RedirectResponse(_partners_url(actor, partner), status_code=303)
        return _confirm(request, actor, "places/partners_retire.html", errors, 400, partner=partner)
    try:
        registry.retire_partner(session, partner, by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        return _confirm(request, actor, "places/partners_retire.html", _errors(exc, "confirm"), 400,
                        partner=partner)
    name, url = partner.name, _partners_url(actor, partner)
    session.commit()
    return _done(request, f"{name} is retired. Its history is kept", url)


@router.post(BASE + "/partners/{partner_id:int}/reinstate", response_class=HTMLResponse)
def partner_reinstate(request: Request, partner_id: int, actor: Actor = Depends(MANAGE),
                      session: Session = Depends(get_db)) -> Response:
    partner = _partner(session, actor, partner_id)
    try:
        registry.reinstate_partner(session, partner, by=_by(request, actor))
    except PlaceError:
        session.rollback()
        return RedirectResponse(_partners_url(actor, partner), status_code=303)
    name, url = partner.name, _partners_url(actor, partner)
    session.commit()
    return _done(request, f"{name} is active again", url)


@router.get(BASE + "/partners/{partner_id:int}/delete", response_class=HTMLResponse)
def partner_delete(request: Request, partner_id: int, actor: Actor = Depends(MANAGE),
                   session: Session = Depends(get_db)) -> Response:
    partner = _partner(session, actor, partner_id)
    try:
        links = registry.partner_links(session, partner, _sources(request, actor.place))
    except PlaceError as exc:
        return _confirm(request, actor, "places/partners_delete.html", _errors(exc, "confirm"), 503,
                        partner=partner, links=None)
    return _confirm(request, actor, "places/partners_delete.html", FormErrors(), partner=partner, links=links)


@router.post(BASE + "/partners/{partner_id:int}/delete", response_class=HTMLResponse)
def partner_delete_submit(request: Request, partner_id: int, actor: Actor = Depends(MANAGE),
                          session: Session = Depends(get_db),
                          form: dict[str, str] = Depends(form_data)) -> Response:
    partner = _partner(session, actor, partner_id)
    try:
        sources = _sources(request, actor.place)
    except PlaceError as exc:
        return _confirm(request, actor, "places/partners_delete.html", _errors(exc, "confirm"), 503,
                        partner=partner, links=None)
    links = registry.partner_links(session, partner, sources)
    if links:  # the page says why it cannot be deleted, and offers to retire it
        return _confirm(request, actor, "places/partners_delete.html", FormErrors(), 400, partner=partner,
                        links=links)
    errors = _unconfirmed(form, f"Select yes if you want to delete {partner.name}")
    if errors is not None:
        if not errors:
            return RedirectResponse(_partners_url(actor, partner), status_code=303)
        return _confirm(request, actor, "places/partners_delete.html", errors, 400, partner=partner,
                        links=links)
    name = partner.name
    try:
        registry.delete_partner(session, partner, sources, by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        return _confirm(request, actor, "places/partners_delete.html", _errors(exc, "confirm"), 400,
                        partner=partner, links=links)
    session.commit()
    return _done(request, f"{name} deleted", _partners_url(actor))


# ---------------------------------------------------------------- services


@router.get(BASE + "/services", response_class=HTMLResponse)
def services(request: Request, actor: Actor = Depends(READ)) -> Response:
    return render(request, "places/services.html",
                  _common(request, actor, flash=request.session.pop(FLASH, None)))


def _service_form(request: Request, actor: Actor, service_: Service | None, values: dict[str, str],
                  errors: FormErrors, status: int = 200) -> Response:
    choices = registry.active_partners(actor.place)
    return render(request, "places/services_form.html",
                  _common(request, actor, service=service_, values=values, errors=errors,
                          partner_choices=choices), status_code=status)


@router.get(BASE + "/services/add", response_class=HTMLResponse)
def service_add(request: Request, actor: Actor = Depends(MANAGE), partner: str = "") -> Response:
    return _service_form(request, actor, None, {"partner": partner, "status": "active"}, FormErrors())


@router.post(BASE + "/services/add", response_class=HTMLResponse)
def service_add_submit(request: Request, actor: Actor = Depends(MANAGE),
                       session: Session = Depends(get_db),
                       form: dict[str, str] = Depends(form_data)) -> Response:
    # Another place's partner id is "no partner": find_partner only finds this place's.
    partner = registry.find_partner(session, actor.place, form.get("partner"))
    try:
        created = registry.add_service(
            session, actor.place, partner, name=form.get("name", ""),
            description=form.get("description", ""), status=form.get("status", ""),
            email=form.get("email", ""), url=form.get("url", ""), by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        return _service_form(request, actor, None, form, _errors(exc), 400)
    name, owner = created.name, created.partner
    url = _partners_url(actor, owner)
    session.commit()
    return _done(request, f"{name} added to {owner.name}", url)


@router.get(BASE + "/services/{service_id:int}/edit", response_class=HTMLResponse)
def service_edit(request: Request, service_id: int, actor: Actor = Depends(MANAGE),
                 session: Session = Depends(get_db)) -> Response:
    s = _service(session, actor, service_id)
    values = {"name": s.name, "description": s.description, "status": s.status, "email": s.email,
              "url": s.url}
    return _service_form(request, actor, s, values, FormErrors())


@router.post(BASE + "/services/{service_id:int}/edit", response_class=HTMLResponse)
def service_edit_submit(request: Request, service_id: int, actor: Actor = Depends(MANAGE),
                        session: Session = Depends(get_db),
                        form: dict[str, str] = Depends(form_data)) -> Response:
    s = _service(session, actor, service_id)
    try:
        changes = registry.edit_service(
            session, s, name=form.get("name", ""), description=form.get("description", ""),
            status=form.get("status", ""), email=form.get("email", ""), url=form.get("url", ""),
            sources=_sources(request, actor.place), by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        return _service_form(request, actor, s, form, _errors(exc), 400)
    name, url = s.name, _partners_url(actor, s.partner)
    session.commit()
    return _done(request, f"{name} saved" if changes else "No changes to save", url)


@router.get(BASE + "/services/{service_id:int}/retire", response_class=HTMLResponse)
def service_retire(request: Request, service_id: int, actor: Actor = Depends(MANAGE),
                   session: Session = Depends(get_db)) -> Response:
    s = _service(session, actor, service_id)
    return _confirm(request, actor, "places/services_retire.html", FormErrors(), service=s)


@router.post(BASE + "/services/{service_id:int}/retire", response_class=HTMLResponse)
def service_retire_submit(request: Request, service_id: int, actor: Actor = Depends(MANAGE),
                          session: Session = Depends(get_db),
                          form: dict[str, str] = Depends(form_data)) -> Response:
    s = _service(session, actor, service_id)
    errors = _unconfirmed(form, f"Select yes if you want to retire {s.name}")
    if errors is not None:
        if not errors:
            return RedirectResponse(_partners_url(actor, s.partner), status_code=303)
        return _confirm(request, actor, "places/services_retire.html", errors, 400, service=s)
    try:
        registry.retire_service(session, s, by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        return _confirm(request, actor, "places/services_retire.html", _errors(exc, "confirm"), 400,
                        service=s)
    name, url = s.name, _partners_url(actor, s.partner)
    session.commit()
    return _done(request, f"{name} is retired. Its history is kept", url)


@router.post(BASE + "/services/{service_id:int}/reinstate", response_class=HTMLResponse)
def service_reinstate(request: Request, service_id: int, actor: Actor = Depends(MANAGE),
                      session: Session = Depends(get_db)) -> Response:
    s = _service(session, actor, service_id)
    try:
        registry.reinstate_service(session, s, by=_by(request, actor))
    except PlaceError as exc:
        session.rollback()
        request.session[FLASH] = str(exc)
        return RedirectResponse(_partners_url(actor, s.partner), status_code=303)
    name, url = s.name, _partners_url(actor, s.partner)
    session.commit()
    return _done(request, f"{name} is active again", url)


# ---------------------------------------------------------------- import


_IMPORTS = {"partners": registry_csv.import_partners, "services": registry_csv.import_services}


def _import_page(request: Request, actor: Actor, what: str) -> Response:
    return render(request, "places/partners_import.html",
                  _common(request, actor, what=what, errors=FormErrors(), problems=[]))


@router.get(BASE + "/partners/import", response_class=HTMLResponse)
def partners_import(request: Request, actor: Actor = Depends(MANAGE)) -> Response:
    return _import_page(request, actor, "partners")


@router.get(BASE + "/services/import", response_class=HTMLResponse)
def services_import(request: Request, actor: Actor = Depends(MANAGE)) -> Response:
    return _import_page(request, actor, "services")


@router.post(BASE + "/partners/import", response_class=HTMLResponse)
async def partners_import_submit(request: Request, actor: Actor = Depends(MANAGE),
                                 session: Session = Depends(get_db)) -> Response:
    return await _import(request, actor, session, "partners")


@router.post(BASE + "/services/import", response_class=HTMLResponse)
async def services_import_submit(request: Request, actor: Actor = Depends(MANAGE),
                                 session: Session = Depends(get_db)) -> Response:
    return await _import(request, actor, session, "services")


async def _import(request: Request, actor: Actor, session: Session, what: str) -> Response:
    """Check the whole file; save all of it, or nothing and a report of every problem."""
    upload = (await request.form()).get("file")
    errors = FormErrors()
    problems: list[registry_csv.ImportProblem] = []
    data = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.add("file", f"Choose a CSV file of {what}")
    else:
        data = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            errors.add("file", "The file must be smaller than 1 MB")
    if not errors:
        try:
            result = _IMPORTS[what](session, actor.place, data, sources=_sources(request, actor.place),
                                    by=_by(request, actor))
        except registry_csv.ImportRefused as exc:
            session.rollback()
            problems = exc.problems
            errors.add("file", f"Nothing was imported: the file has {len(problems)} "
                               f"problem{'s' if len(problems) != 1 else ''}, listed below")
        except PlaceError as exc:  # the insight store is busy
            session.rollback()
            errors.add("file", str(exc))
        else:
            session.commit()
            return _done(request, f"{what.capitalize()} imported: {result.summary()}",
                         f"/places/{actor.place.slug}/{what}")
    return render(request, "places/partners_import.html",
                  _common(request, actor, what=what, errors=errors, problems=problems), status_code=400)
