"""Collaborations and their charters: list, start one, read, edit part by part, history, print.

The logic lives in joinedup.collaborations.charters; this module turns requests into calls
and results into pages. Each edit page saves one part of the charter in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.collaborations import charters
from joinedup.collaborations.charters import CharterInvalid, Draft, Errors, PartnerLike
from joinedup.collaborations.models import Collaboration, ResourceKind, Status
from joinedup.db.base import utcnow
from joinedup.places.models import Partner
from joinedup.places.registry import partners_to_choose
from joinedup.places.roles import Capability
from joinedup.value.settings import charter_ties
from joinedup.web.authz import Actor, client_ip, get_db, requires
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.templating import render

router = APIRouter()

BASE = "/places/{place}/collaborations"
FLASH = "charter_flash"


def _errors(found: Errors) -> FormErrors:
    errors = FormErrors()
    for key, message in found.items():
        errors.add(key, message)
    return errors


def _collaboration(session: Session, actor: Actor, slug: str) -> Collaboration:
    collab = charters.get_collaboration(session, actor.place, slug)
    if collab is None:
        raise HTTPException(status_code=404)
    return collab


def _url(collab: Collaboration, tail: str = "") -> str:
    return f"/places/{collab.place.slug}/collaborations/{collab.slug}{tail}"


def _common() -> dict[str, Any]:
    return {
        "status_labels": {s.value: label for s, label in charters.STATUS_LABELS.items()},
        "status_colours": {s.value: c for s, c in charters.STATUS_COLOURS.items()},
        "status_hints": {s.value: h for s, h in charters.STATUS_HINTS.items()},
        "resource_labels": {k.value: label for k, label in charters.RESOURCE_LABELS.items()},
    }


@router.get(BASE, response_class=HTMLResponse)
def collaborations_list(
    request: Request, actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    collabs = charters.list_collaborations(session, actor.place)
    return render(request, "collaborations/list.html",
                  {"place": actor.place, "collaborations": collabs, **_common()})


@router.get(BASE + "/new", response_class=HTMLResponse)
def new_collaboration(
    request: Request, actor: Actor = Depends(requires(Capability.EDIT_CHARTER))
) -> Response:
    return render(request, "collaborations/new.html",
                  {"place": actor.place, "errors": FormErrors(), "name": ""})


@router.post(BASE + "/new", response_class=HTMLResponse)
def create_collaboration(
    request: Request, actor: Actor = Depends(requires(Capability.EDIT_CHARTER)),
    session: Session = Depends(get_db), form: dict[str, str] = Depends(form_data),
) -> Response:
    name = form.get("name", "")
    try:
        collab = charters.create_collaboration(session, actor.place, name, author=actor.user,
                                               ip=client_ip(request))
    except CharterInvalid as exc:
        session.rollback()
        return render(request, "collaborations/new.html",
                      {"place": actor.place, "errors": _errors(exc.errors), "name": name},
                      status_code=400)
    session.commit()
    request.session[FLASH] = "Collaboration started. Now answer the four questions."
    return RedirectResponse(_url(collab, "/edit/questions"), status_code=303)


@router.get(BASE + "/{collab}", response_class=HTMLResponse)
def charter_page(
    request: Request, collab: str, actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    c = _collaboration(session, actor, collab)
    return render(request, "collaborations/charter.html", {
        "place": actor.place, "collab": c, "draft": charters.draft_of(c),
        "latest": charters.latest_revision(session, c),
        "can_edit": actor.can(Capability.EDIT_CHARTER),
        "flash": request.session.pop(FLASH, None), **_common(),
        "ties": charter_ties(session, c, exact=actor.can(Capability.VIEW_PERSON_LEVEL)),  # issue 10
    })


@router.get(BASE + "/{collab}/history", response_class=HTMLResponse)
def charter_history(
    request: Request, collab: str, actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    c = _collaboration(session, actor, collab)
    return render(request, "collaborations/history.html",
                  {"place": actor.place, "collab": c, "entries": charters.history(session, c)})


@router.get(BASE + "/{collab}/print", response_class=HTMLResponse)
def charter_print(
    request: Request, collab: str, actor: Actor = Depends(requires(Capability.VIEW_PLACE)),
    session: Session = Depends(get_db),
) -> Response:
    c = _collaboration(session, actor, collab)
    return render(request, "collaborations/print.html", {
        "place": actor.place, "collab": c, "draft": charters.draft_of(c),
        "latest": charters.latest_revision(session, c), "printed_on": utcnow().date(),
        **_common(),
    })


# -- editing, one part per page ----------------------------------------------------------------


Reader = Callable[[Draft, dict[str, str], Sequence[PartnerLike]], tuple[Draft, Errors]]
Filler = Callable[[Draft, Sequence[PartnerLike]], dict[str, str]]


@dataclass(frozen=True)
class Part:
    slug: str
    title: str
    read: Reader
    fill: Filler
    rows: str = ""  # the list part's field prefix, for parts with repeating rows

    @property
    def template(self) -> str:
        return f"collaborations/edit_{self.slug}.html"


def _questions_fill(d: Draft, _p: Sequence[PartnerLike]) -> dict[str, str]:
    return {"name": d.name, "problem": d.problem, "shared_goal": d.shared_goal,
            "value_accounting": d.value_accounting}


PARTS: tuple[Part, ...] = (
    Part("questions", "The four questions", lambda d, f, _p: charters.read_questions(d, f), _questions_fill),
    Part("partners", "Partners: what each offers and gives up", charters.read_partners,
         charters.partner_form),
    Part("measures", "Outcome measures", lambda d, f, _p: charters.read_measures(d, f),
         lambda d, _p: charters.measure_form(d), rows="measures"),
    Part("risks", "Shared risks", lambda d, f, _p: charters.read_risks(d, f),
         lambda d, _p: charters.risk_form(d), rows="risks"),
    Part("resources", "Pooled resources", lambda d, f, _p: charters.read_resources(d, f),
         lambda d, _p: charters.resource_form(d), rows="resources"),
    Part("status", "Status", lambda d, f, _p: charters.read_status(d, f),
         lambda d, _p: {"status": d.status}),
)


def _row_count(values: dict[str, str], prefix: str, saved: int) -> int:
    """Rows to show: the saved ones plus a blank one for adding another, or, when a submitted
    form comes back with errors, exactly the rows it had."""
    indices = [int(k.split("-")[1]) for k in values
               if k.startswith(prefix + "-") and k.split("-")[1].isdigit()]
    submitted = max(indices) + 1 if indices else 0
    return submitted if submitted > saved else saved + 1


def _blank_rows(values: dict[str, str], prefix: str, count: int) -> set[int]:
    """Rows with nothing in them (offered for adding another), by index."""
    filled = {int(k.split("-")[1]) for k, v in values.items()
              if v.strip() and k.startswith(prefix + "-") and k.split("-")[1].isdigit()}
    return set(range(count)) - filled


def _choices(actor: Actor, draft: Draft) -> list[Partner]:
    """Active partners, and the retired ones this charter already has (kept, not offered)."""
    return partners_to_choose(actor.place, keep=[p.partner_id for p in draft.partners])


def _edit_context(actor: Actor, c: Collaboration, part: Part, values: dict[str, str],
                  errors: FormErrors, draft: Draft) -> dict[str, Any]:
    saved_rows = len(getattr(draft, part.rows)) if part.rows else 0
    return {
        "place": actor.place, "collab": c, "part": part, "values": values, "errors": errors,
        "draft": draft, "place_partners": _choices(actor, draft),
        "rows": _row_count(values, part.rows, saved_rows) if part.rows else 0,
        "blank_rows": _blank_rows(values, part.rows, _row_count(values, part.rows, saved_rows))
        if part.rows else set(),
        "kinds": list(ResourceKind), "statuses": list(Status),
        "status_problems": charters.status_problems(draft), **_common(),
    }


def _add_edit_routes(part: Part) -> None:
    path = BASE + "/{collab}/edit/" + part.slug

    def edit_page(
        request: Request, collab: str, actor: Actor = Depends(requires(Capability.EDIT_CHARTER)),
        session: Session = Depends(get_db),
    ) -> Response:
        c = _collaboration(session, actor, collab)
        draft = charters.draft_of(c)
        values = part.fill(draft, _choices(actor, draft))
        return render(request, part.template,
                      {**_edit_context(actor, c, part, values, FormErrors(), draft),
                       "flash": request.session.pop(FLASH, None)})

    def save_part(
        request: Request, collab: str, actor: Actor = Depends(requires(Capability.EDIT_CHARTER)),
        session: Session = Depends(get_db), form: dict[str, str] = Depends(form_data),
    ) -> Response:
        c = _collaboration(session, actor, collab)
        draft = charters.draft_of(c)
        new_draft, found = part.read(draft, form, _choices(actor, draft))
        if not found:
            try:
                revision = charters.save(session, c, new_draft, author=actor.user, ip=client_ip(request))
            except CharterInvalid as exc:
                found = exc.errors
            else:
                session.commit()
                request.session[FLASH] = (f"{part.title} saved as revision {revision.number}"
                                          if revision else "No changes to save")
                again = form.get("then") == "add" and part.rows
                return RedirectResponse(_url(c, f"/edit/{part.slug}" if again else ""), status_code=303)
        session.rollback()
        return render(request, part.template,
                      _edit_context(actor, c, part, form, _errors(found), draft), status_code=400)

    edit_page.__name__ = f"edit_{part.slug}"
    save_part.__name__ = f"save_{part.slug}"
    router.add_api_route(path, edit_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(path, save_part, methods=["POST"], response_class=HTMLResponse)


for _part in PARTS:
    _add_edit_routes(_part)
