"""Users of a place (administrators only): list, invite, change a role, remove a role, and
see recent failed sign-ins of the place's own people.

The rules (invitations, one role per place, always one administrator, audit) live in
places.members; throttling and the attempts in places.throttle.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.places import members, throttle
from joinedup.places.members import MemberError
from joinedup.places.models import Membership
from joinedup.places.roles import ROLE_HINTS, ROLE_LABELS, Capability, Role
from joinedup.web.authz import Actor, current_session_id, get_db, requires
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.templating import render

router = APIRouter()

BASE = "/places/{place}/users"
FLASH = "users_flash"
MANAGE = requires(Capability.MANAGE_USERS)
ATTEMPT_DAYS = 30


def _errors(found: dict[str, str]) -> FormErrors:
    errors = FormErrors()
    for key, message in found.items():
        errors.add(key, message)
    return errors


def _roles() -> list[dict[str, Any]]:
    return [{"value": r.value, "text": ROLE_LABELS[r], "hint": {"text": ROLE_HINTS[r]}} for r in Role]


def _member(session: Session, actor: Actor, user_id: int) -> Membership:
    found = members.membership(session, actor.place, user_id)
    if found is None:
        raise HTTPException(status_code=404)
    return found


def _list_url(actor: Actor) -> str:
    return f"/places/{actor.place.slug}/users"


@router.get(BASE, response_class=HTMLResponse)
def users_list(
    request: Request, actor: Actor = Depends(MANAGE), session: Session = Depends(get_db)
) -> Response:
    return render(request, "users/list.html", {
        "place": actor.place, "members": members.members(session, actor.place), "me": actor.user,
        "invitations": members.invitations(session, actor.place),
        "flash": request.session.pop(FLASH, None),
    })


@router.get(BASE + "/sign-ins", response_class=HTMLResponse)
def sign_ins(
    request: Request, actor: Actor = Depends(MANAGE), session: Session = Depends(get_db)
) -> Response:
    """Failed and slowed-down sign-ins for this place's own people (never anyone else's)."""
    people = {m.user.email: m.user.name for m in members.members(session, actor.place)}
    attempts = throttle.recent_attempts(session, list(people), days=ATTEMPT_DAYS)
    return render(request, "users/sign_ins.html", {
        "place": actor.place, "attempts": attempts, "people": people, "days": ATTEMPT_DAYS,
    })


@router.get(BASE + "/add", response_class=HTMLResponse)
def add_page(request: Request, actor: Actor = Depends(MANAGE)) -> Response:
    return render(request, "users/add.html",
                  {"place": actor.place, "errors": FormErrors(), "values": {}, "roles": _roles()})


@router.post(BASE + "/add", response_class=HTMLResponse)
def add_submit(
    request: Request, actor: Actor = Depends(MANAGE), session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    try:
        invitation = members.add_member(
            session, actor.place, email=form.get("email", ""), role=form.get("role", ""),
            name=form.get("name", ""), password=form.get("password", ""), actor=actor.user,
        )
    except MemberError as exc:
        session.rollback()
        values = {k: v for k, v in form.items() if k != "password"}
        return render(request, "users/add.html", {"place": actor.place, "errors": _errors(exc.errors),
                                                  "values": values, "roles": _roles()}, status_code=400)
    # The same words whether or not the email address already has an account: the place must
    # not learn that from this page.
    name, email = invitation.name, invitation.email
    role = ROLE_LABELS[Role(invitation.role)].lower()
    session.commit()
    request.session[FLASH] = (f"{name} ({email}) is invited to be a {role} in {actor.place.name}. "
                              "Their role starts when they accept, next time they sign in. If they "
                              "are new to joinedup, give them the temporary password in person or "
                              "by phone, not by email")
    return RedirectResponse(_list_url(actor), status_code=303)


@router.post(BASE + "/invitations/{invitation_id}/withdraw", response_class=HTMLResponse)
def withdraw(
    request: Request, invitation_id: int, actor: Actor = Depends(MANAGE),
    session: Session = Depends(get_db),
) -> Response:
    try:
        found = members.withdraw_invitation(session, actor.place, invitation_id, actor=actor.user)
    except LookupError:
        raise HTTPException(status_code=404) from None
    email = found.email
    session.commit()
    request.session[FLASH] = f"The invitation to {email} has been withdrawn"
    return RedirectResponse(_list_url(actor), status_code=303)


@router.get(BASE + "/{user_id}/role", response_class=HTMLResponse)
def role_page(
    request: Request, user_id: int, actor: Actor = Depends(MANAGE), session: Session = Depends(get_db)
) -> Response:
    m = _member(session, actor, user_id)
    return render(request, "users/role.html", {"place": actor.place, "member": m, "errors": FormErrors(),
                                               "role": m.role, "roles": _roles()})


@router.post(BASE + "/{user_id}/role", response_class=HTMLResponse)
def role_submit(
    request: Request, user_id: int, actor: Actor = Depends(MANAGE), session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    m = _member(session, actor, user_id)
    try:
        members.change_role(session, actor.place, user_id, form.get("role", ""), actor=actor.user)
    except MemberError as exc:
        session.rollback()
        context = {"place": actor.place, "member": m, "errors": _errors(exc.errors),
                   "role": form.get("role", ""), "roles": _roles()}
        return render(request, "users/role.html", context, status_code=400)
    name, label = m.user.name, ROLE_LABELS[Role(m.role)].lower()
    session.commit()
    if user_id == actor.user.id and Role(form["role"]) != Role.ADMIN:  # they can no longer see Users
        return RedirectResponse(f"/places/{actor.place.slug}", status_code=303)
    request.session[FLASH] = f"{name} now has the role {label}"
    return RedirectResponse(_list_url(actor), status_code=303)


@router.get(BASE + "/{user_id}/remove", response_class=HTMLResponse)
def remove_page(
    request: Request, user_id: int, actor: Actor = Depends(MANAGE), session: Session = Depends(get_db)
) -> Response:
    m = _member(session, actor, user_id)
    return render(request, "users/remove.html", {"place": actor.place, "member": m, "errors": FormErrors(),
                                                 "me": actor.user})


@router.post(BASE + "/{user_id}/remove", response_class=HTMLResponse)
def remove_submit(
    request: Request, user_id: int, actor: Actor = Depends(MANAGE), session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    m = _member(session, actor, user_id)
    errors: dict[str, str] = {}
    if form.get("confirm") not in ("yes", "no"):
        errors["confirm"] = f"Select yes if you want to remove {m.user.name}'s role"
    elif form["confirm"] == "no":
        return RedirectResponse(_list_url(actor), status_code=303)
    else:
        try:
            # Removing your own role keeps you signed in here; anyone else is signed out at once.
            keep = current_session_id(request) if user_id == actor.user.id else ""
            user = members.remove_member(session, actor.place, user_id, actor=actor.user,
                                         keep_session=keep)
        except MemberError as exc:
            errors = exc.errors
        else:
            name = user.name
            session.commit()
            if user_id == actor.user.id:  # they no longer have a role here
                return RedirectResponse("/", status_code=303)
            request.session[FLASH] = f"{name} no longer has a role in {actor.place.name}"
            return RedirectResponse(_list_url(actor), status_code=303)
    session.rollback()
    return render(request, "users/remove.html", {"place": actor.place, "member": m,
                                                 "errors": _errors(errors), "me": actor.user},
                  status_code=400)
