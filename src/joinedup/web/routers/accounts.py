"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.places.users import sign_in
from joinedup.web.authz import SESSION_USER, client_ip, get_db, public
from joinedup.web.forms import FormErrors
from joinedup.web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only follow a local path after sign-in, never another site."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


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
    if not email.strip():
        errors.add("email", "Enter your email address")
    if not password:
        errors.add("password", "Enter your password")
    if not errors:
        settings = request.app.state.settings
        result = sign_in(session, email, password, ip=client_ip(request),
                         max_failures=settings.login_max_failures,
                         window_seconds=settings.login_window_seconds)
        session.commit()
        if result.locked:
            errors.add("email", "Too many failed attempts to sign in with this email address. "
                                "Wait 15 minutes, then try again")
        elif result.user is None:
            errors.add("email", "Enter a correct email address and password")
        else:
            # A fresh session on sign-in, so a planted session id cannot be carried over.
            request.session.clear()
            request.session[SESSION_USER] = result.user.id
            return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "accounts/sign_in.html",
                  {"errors": errors, "next": next, "email": email}, status_code=400)


@router.post("/sign-out", dependencies=[Depends(public())])
def sign_out(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/sign-in?signed_out=1", status_code=303)
