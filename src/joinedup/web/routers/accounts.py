"""Signing in and out, your account, changing your password, and answering invitations.

The rules live in places.users (sign-in, passwords), places.throttle, places.sessions and
places.members (invitations); this module turns requests into calls and results into pages.
"""

from __future__ import annotations

from urllib.parse import quote, urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.places import members, sessions, throttle
from joinedup.places.models import User
from joinedup.places.users import MIN_PASSWORD_LENGTH, change_password, sign_in
from joinedup.web.authz import (
    SESSION_ID,
    client_ip,
    current_session_id,
    get_db,
    lifetimes,
    public,
    signed_in,
)
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.templating import render

router = APIRouter()

FLASH = "account_flash"
INVITATIONS = "/account/invitations"


def _safe_next(target: str | None) -> str:
    """Only follow a local path after sign-in, never another site."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _policy(request: Request) -> throttle.Policy:
    return throttle.Policy.from_settings(request.app.state.settings)


@router.get("/sign-in", response_class=HTMLResponse, dependencies=[Depends(public())])
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "accounts/sign_in.html", {"errors": FormErrors(), "next": next or "",
                                                      "email": ""})


@router.post("/sign-in", dependencies=[Depends(public())])
def sign_in_submit(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
    session: Session = Depends(get_db),
) -> Response:
    errors = FormErrors()
    status, headers = 400, {}
    if not email.strip():
        errors.add("email", "Enter your email address")
    if not password:
        errors.add("password", "Enter your password")
    if not errors:
        ip = client_ip(request)
        result = sign_in(session, email, password, ip=ip, policy=_policy(request))
        if result.wait:
            session.commit()
            errors.add("email", "Too many failed attempts to sign in. Wait "
                                f"{throttle.wait_words(result.wait)}, then try again")
            status, headers = 429, {"Retry-After": str(result.wait)}
        elif result.user is None:
            session.commit()
            errors.add("email", "Enter a correct email address and password")
        else:
            user = result.user
            # A fresh cookie and a fresh session on sign-in, so a planted session id cannot be
            # carried over; any session this browser had before ends.
            sessions.end(session, current_session_id(request), sessions.Why.SIGNED_IN_AGAIN)
            token = sessions.start(session, user, lifetimes(request.app.state.settings), ip=ip,
                                   user_agent=request.headers.get("user-agent", ""))
            waiting = bool(members.invitations_for(session, user))
            session.commit()
            request.session.clear()
            request.session[SESSION_ID] = token
            target = _safe_next(next)
            if waiting:  # answer invitations first, then go on
                target = INVITATIONS + ("" if target == "/" else f"?next={quote(target, safe='')}")
            return RedirectResponse(target, status_code=303)
    response = render(request, "accounts/sign_in.html",
                      {"errors": errors, "next": next, "email": email}, status_code=status)
    response.headers.update(headers)
    return response


@router.post("/sign-out", dependencies=[Depends(public())])
def sign_out(request: Request, session: Session = Depends(get_db)) -> Response:
    user: User | None = getattr(request.state, "user", None)
    if sessions.end(session, current_session_id(request), sessions.Why.SIGNED_OUT) and user:
        audit.record(session, "sign_out", actor_id=user.id, actor_label=user.email,
                     subject=user.email, ip=client_ip(request))
    session.commit()
    request.session.clear()
    return RedirectResponse("/sign-in?signed_out=1", status_code=303)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, user: User = Depends(signed_in()),
                 session: Session = Depends(get_db)) -> Response:
    settings = request.app.state.settings
    live = sessions.live_sessions(session, user.id, lifetimes(settings))
    return render(request, "accounts/account.html", {
        "idle": throttle.wait_words(settings.session_idle_timeout),
        "lifetime": throttle.wait_words(settings.session_max_age),
        "user": user, "memberships": sorted(user.memberships, key=lambda m: m.place.name),
        "invitations": members.invitations_for(session, user), "sessions": live,
        "this_session": sessions.token_hash(current_session_id(request)),
        "flash": request.session.pop(FLASH, None),
    })


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, user: User = Depends(signed_in())) -> Response:
    return render(request, "accounts/password.html",
                  {"errors": FormErrors(), "min_length": MIN_PASSWORD_LENGTH})


@router.post("/account/password", response_class=HTMLResponse)
def password_submit(
    request: Request, user: User = Depends(signed_in()), session: Session = Depends(get_db),
    form: dict[str, str] = Depends(form_data),
) -> Response:
    result = change_password(
        session, user, current=form.get("current", ""), new=form.get("new", ""),
        confirm=form.get("confirm", ""), ip=client_ip(request),
        keep_session=current_session_id(request), policy=_policy(request),
    )
    session.commit()  # a wrong current password is audited (and counted) too
    if result.errors:
        errors = FormErrors()
        for key, message in result.errors.items():
            errors.add(key, message)
        response = render(request, "accounts/password.html",
                          {"errors": errors, "min_length": MIN_PASSWORD_LENGTH},
                          status_code=429 if result.wait else 400)
        if result.wait:
            response.headers["Retry-After"] = str(result.wait)
        return response
    request.session[FLASH] = ("Your password has been changed. You have been signed out everywhere "
                              "else")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sign-out-elsewhere", response_class=HTMLResponse)
def sign_out_elsewhere(request: Request, user: User = Depends(signed_in()),
                       session: Session = Depends(get_db)) -> Response:
    ended = sessions.end_all(session, user.id, sessions.Why.SIGNED_OUT,
                             keep=current_session_id(request))
    audit.record(session, "sign_out.elsewhere", actor_id=user.id, actor_label=user.email,
                 subject=user.email, ip=client_ip(request), detail={"sessions_ended": ended})
    session.commit()
    request.session[FLASH] = "You have been signed out everywhere else"
    return RedirectResponse("/account", status_code=303)


@router.get(INVITATIONS, response_class=HTMLResponse)
def invitations_page(request: Request, next: str | None = None, user: User = Depends(signed_in()),
                     session: Session = Depends(get_db)) -> Response:
    return render(request, "accounts/invitations.html", {
        "invitations": members.invitations_for(session, user), "next": _safe_next(next),
        "flash": request.session.pop(FLASH, None),
    })


@router.post(INVITATIONS + "/{invitation_id}", response_class=HTMLResponse)
def answer_invitation(
    request: Request, invitation_id: int, user: User = Depends(signed_in()),
    session: Session = Depends(get_db), form: dict[str, str] = Depends(form_data),
) -> Response:
    answer = form.get("answer", "")
    if answer not in ("accept", "decline"):
        raise HTTPException(status_code=400)
    try:
        found = members.answer_invitation(session, user, invitation_id, accept=answer == "accept")
    except LookupError:
        raise HTTPException(status_code=404) from None
    place_name, slug = found.place.name, found.place.slug
    session.commit()
    target = _safe_next(form.get("next"))
    if members.invitations_for(session, user):
        target = INVITATIONS + ("" if target == "/" else f"?next={quote(target, safe='')}")
    elif target == "/":
        target = f"/places/{slug}" if answer == "accept" else INVITATIONS
    if target.startswith(INVITATIONS):  # the page that shows the message
        request.session[FLASH] = (f"You have joined {place_name}" if answer == "accept"
                                  else f"You have declined the invitation to {place_name}")
    return RedirectResponse(target, status_code=303)
