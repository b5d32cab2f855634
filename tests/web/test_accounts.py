"""Signing in and out, throttling, CSRF, tampered cookies and the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from joinedup.audit import AuditEvent
from joinedup.places.roles import Role
from tests.support.factories import make_place, make_user


def _setup(session) -> str:
    place = make_place(session)
    user = make_user(session, place, Role.LEAD)
    session.commit()
    return user.email


def test_pages_need_sign_in(client, session) -> None:
    _setup(session)
    response = client.get("/places/testville", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fplaces%2Ftestville"


def test_sign_in_and_out(client, session) -> None:
    email = _setup(session)
    client.sign_in(email)
    home = client.get("/")
    assert "Testville" in home.text and "Partnership lead" in home.text
    out = client.post_form("/sign-out", token_from="/")
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "sign_in" in actions


def test_wrong_password_names_the_problem_and_is_audited(client, session) -> None:
    email = _setup(session)
    response = client.post_form("/sign-in", {"email": email, "password": "wrong password!"})
    assert response.status_code == 400
    assert "Enter a correct email address and password" in response.text
    assert 'href="#email"' in response.text  # the error summary links to the field
    failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in.failed")).all()
    assert [e.subject for e in failed] == [email]


def test_empty_form_gives_an_error_for_each_field(client) -> None:
    response = client.post_form("/sign-in", {"email": "", "password": ""})
    assert response.status_code == 400
    assert "Enter your email address" in response.text
    assert "Enter your password" in response.text
    assert response.text.count("govuk-error-message") == 2


def test_repeated_failures_are_slowed_down_not_locked(client, session, settings) -> None:
    email = _setup(session)
    for _ in range(settings.login_max_failures):
        client.post_form("/sign-in", {"email": email, "password": "nope nope nope"})
    # This client must now wait before trying again (see test_sign_in_throttle.py for the rest).
    slowed = client.post_form("/sign-in", {"email": email, "password": "correct horse battery staple"})
    assert slowed.status_code == 429
    assert "Too many failed attempts to sign in. Wait" in slowed.text


def test_form_without_csrf_token_is_refused(client, session) -> None:
    email = _setup(session)
    client.get("/sign-in")
    forged = client.post("/sign-in", data={"email": email, "password": "correct horse battery staple"},
                         follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in


def test_form_with_wrong_csrf_token_is_refused(client, session) -> None:
    email = _setup(session)
    client.get("/sign-in")
    forged = client.post("/sign-in", data={"email": email, "password": "correct horse battery staple",
                                           "csrf_token": "guessed"}, follow_redirects=False)
    assert forged.status_code == 403


def test_tampered_session_cookie_signs_the_user_out(client, session) -> None:
    email = _setup(session)
    client.sign_in(email)
    cookie = client.cookies.get("joinedup_session")
    assert cookie
    client.cookies.set("joinedup_session", cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB"))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_next_only_goes_to_local_paths(client, session) -> None:
    email = _setup(session)
    response = client.post_form("/sign-in", {"email": email, "password": "correct horse battery staple",
                                             "next": "https://evil.example/"})
    assert response.headers["location"] == "/"


def test_security_headers(client) -> None:
    response = client.get("/sign-in")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "'nonce-" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = response.headers.get("set-cookie", "")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
