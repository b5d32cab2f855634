"""Managing a place's users: add, invite, change a role, remove, and always one administrator."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.places.models import Membership, User
from joinedup.places.roles import Role
from joinedup.places.service import create_place
from joinedup.places.users import create_user, set_role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401


@pytest.fixture
def admin(client: PageClient, demo: DemoLike) -> PageClient:  # noqa: F811
    client.sign_in(email_for(Role.ADMIN), DEMO_PASSWORD)
    return client


def _base(d: DemoLike) -> str:
    return f"/places/{d.place_slug}/users"


def _user(session: Session, email: str) -> User:
    session.expire_all()
    found = session.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def _role_of(session: Session, email: str) -> str | None:
    session.expire_all()
    return session.scalar(select(Membership.role).join(User).where(User.email == email))


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_list_shows_people_and_roles(admin, demo) -> None:  # noqa: F811
    page = admin.get(_base(demo))
    assert page.status_code == 200
    assert "Priya Shah" in page.text and "Partnership lead" in page.text and "Alex Admin (you)" in page.text
    assert admin.get(_base(demo) + "/add").status_code == 200


def _flash(client: PageClient, d: DemoLike) -> str:
    page = client.get(_base(d)).text
    start = page.index("govuk-notification-banner__heading")
    return page[start:page.index("</", start)]


def _other_place_user(session: Session) -> User:
    other = create_place(session, name="Elsewhere", slug="elsewhere")
    user = create_user(session, name="Kim Other", email="kim@example.org", password="kims own password")
    set_role(session, user, other, Role.LEAD)
    user.last_sign_in = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)
    session.commit()
    return user


def _add(client: PageClient, d: DemoLike, email: str, name: str, role: str = "partner") -> Any:
    return client.post_form(_base(d) + "/add", {
        "email": email, "role": role, "name": name, "password": "a temporary one!",
    }, token_from=_base(d))


def _answer(client: PageClient, answer: str, page_url: str = "/account/invitations") -> Any:
    page = client.get(page_url)
    match = re.search(r'action="(/account/invitations/\d+)"', page.text)
    assert match, page.text
    next_value = re.search(r'name="next" value="([^"]*)"', page.text)
    assert next_value
    return client.post_form(match.group(1), {"answer": answer, "next": next_value.group(1)},
                            token_from="/account/invitations")


def test_add_a_new_user(admin, demo, session) -> None:  # noqa: F811
    response = _add(admin, demo, "Jo@Example.org", "Jo Bloggs", role="analyst")
    assert response.status_code == 303
    assert _role_of(session, "jo@example.org") is None  # not until they accept
    assert "Jo Bloggs" in _flash(admin, demo)
    listed = admin.get(_base(demo)).text
    assert "jo@example.org" in listed and "Invited" in listed
    assert _actions(session)[-1] == "invitation.made"
    # The new person signs in with the temporary password, and accepts.
    admin.post_form("/sign-out", token_from="/")
    signed_in = admin.post_form("/sign-in", {"email": "jo@example.org", "password": "a temporary one!"})
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith("/account/invitations")
    page = admin.get("/account/invitations")
    assert "Northbrook" in page.text and "Insight analyst" in page.text
    assert _answer(admin, "accept").status_code == 303
    assert _role_of(session, "jo@example.org") == "analyst"
    assert "invitation.accepted" in _actions(session)


def test_adding_an_existing_account_is_an_invitation_that_reveals_nothing(admin, demo, session) -> None:  # noqa: F811
    _other_place_user(session)
    existing = _add(admin, demo, "kim@example.org", "Kim O")
    assert existing.status_code == 303
    said_for_existing = _flash(admin, demo).replace("Kim O", "NAME").replace("kim@example.org", "EMAIL")
    fresh = _add(admin, demo, "lee@example.org", "Lee N")
    assert fresh.status_code == 303 and fresh.headers["location"] == existing.headers["location"]
    said_for_fresh = _flash(admin, demo).replace("Lee N", "NAME").replace("lee@example.org", "EMAIL")
    assert said_for_existing == said_for_fresh
    # Nothing is attached until Kim accepts, and Northbrook's pages never show Kim's account.
    assert _role_of(session, "kim@example.org") == "lead"  # only their role in Elsewhere
    kim = _user(session, "kim@example.org")
    assert admin.get(f"{_base(demo)}/{kim.id}/role").status_code == 404
    listed = admin.get(_base(demo)).text
    assert "Kim Other" not in listed and "3 November 2026" not in listed and "Kim O" in listed
    assert kim.name == "Kim Other" and kim.password_hash == _user(session, "kim@example.org").password_hash


def test_errors_do_not_depend_on_whether_the_account_exists(admin, demo, session) -> None:  # noqa: F811
    _other_place_user(session)
    pages = []
    for email in ("kim@example.org", "nobody-yet@example.org"):
        response = admin.post_form(_base(demo) + "/add", {"email": email, "role": "viewer"},
                                   token_from=_base(demo))
        assert response.status_code == 400
        pages.append(re.sub(r'value="[^"]*"', "", response.text.replace(email, "EMAIL")))
    assert "Enter the person&#39;s full name" in pages[0]
    assert re.sub(r'nonce(-|=")[\w-]+', "", pages[0]) == re.sub(r'nonce(-|=")[\w-]+', "", pages[1])


def test_the_invited_person_accepts_at_their_next_sign_in(admin, demo, session) -> None:  # noqa: F811
    _other_place_user(session)
    _add(admin, demo, "kim@example.org", "Kim O")
    admin.post_form("/sign-out", token_from="/")
    signed_in = admin.post_form("/sign-in", {"email": "kim@example.org", "password": "kims own password",
                                             "next": "/places/elsewhere"})
    assert signed_in.headers["location"] == "/account/invitations?next=%2Fplaces%2Felsewhere"
    page = admin.get("/account/invitations").text
    assert "Northbrook" in page and "Partner organisation user" in page
    done = _answer(admin, "accept", signed_in.headers["location"])
    assert done.status_code == 303 and done.headers["location"] == "/places/elsewhere"
    session.expire_all()
    roles = session.scalars(select(Membership.role).join(User).where(User.email == "kim@example.org"))
    assert sorted(roles) == ["lead", "partner"]
    # Now Kim has joined, Northbrook's administrator sees them.
    admin.post_form("/sign-out", token_from="/")
    admin.sign_in(email_for(Role.ADMIN), DEMO_PASSWORD)
    assert "Kim Other" in admin.get(_base(demo)).text


def test_the_invited_person_can_decline(admin, demo, session) -> None:  # noqa: F811
    _other_place_user(session)
    _add(admin, demo, "kim@example.org", "Kim O")
    admin.post_form("/sign-out", token_from="/")
    admin.sign_in("kim@example.org", "kims own password")
    done = _answer(admin, "decline")
    assert done.status_code == 303
    assert _role_of(session, "kim@example.org") == "lead"
    assert 'action="/account/invitations/' not in admin.get("/account/invitations").text
    assert "invitation.declined" in _actions(session)


def test_an_invitation_can_be_withdrawn(admin, demo, session) -> None:  # noqa: F811
    _add(admin, demo, "lee@example.org", "Lee N")
    listed = admin.get(_base(demo)).text
    match = re.search(r'action="(/places/[^"]+/invitations/\d+/withdraw)"', listed)
    assert match
    assert admin.post_form(match.group(1), {}, token_from=_base(demo)).status_code == 303
    assert "Invited, waiting for an answer" not in admin.get(_base(demo)).text
    assert _actions(session)[-1] == "invitation.withdrawn"
    admin.post_form("/sign-out", token_from="/")
    admin.sign_in("lee@example.org", "a temporary one!")
    assert 'action="/account/invitations/' not in admin.get("/account/invitations").text
    assert _role_of(session, "lee@example.org") is None


def test_an_invitation_cannot_be_answered_by_someone_else(admin, demo, session) -> None:  # noqa: F811
    _add(admin, demo, "lee@example.org", "Lee N")
    listed = admin.get(_base(demo)).text
    match = re.search(r'/invitations/(\d+)/withdraw', listed)
    assert match
    # The administrator (not the invitee) tries to accept it for themselves.
    response = admin.post_form(f"/account/invitations/{match.group(1)}", {"answer": "accept"},
                               token_from="/account/invitations")
    assert response.status_code == 404
    assert _role_of(session, "lee@example.org") is None


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"email": "not-an-email", "role": "viewer"}, "email", "Enter an email address in the correct format"),
    ({"email": "new@example.org", "role": ""}, "role", "Select a role"),
    ({"email": "new@example.org", "role": "viewer", "name": "", "password": "long enough!!"}, "name",
     "Enter the person&#39;s full name"),
    ({"email": "new@example.org", "role": "viewer", "name": "New", "password": "short"}, "password",
     "Enter a temporary password of 12 characters or more"),
    ({"email": "lead@northbrook.example", "role": "viewer"}, "email",
     "Priya Shah already has a role in Northbrook: change it instead"),
])
def test_bad_add_is_named_and_changes_nothing(admin, demo, session, form, field, message) -> None:  # noqa: F811
    before = _actions(session)
    response = admin.post_form(_base(demo) + "/add", form, token_from=_base(demo))
    assert response.status_code == 400
    assert f'href="#{field}"' in response.text and message in response.text
    assert "govuk-error-message" in response.text
    assert 'value="short"' not in response.text  # a password is never echoed back
    assert _actions(session) == before
    assert session.scalar(select(User).where(User.email == "new@example.org")) is None


def test_change_a_role(admin, demo, session) -> None:  # noqa: F811
    viewer = _user(session, email_for(Role.VIEWER))
    url = f"{_base(demo)}/{viewer.id}/role"
    assert admin.get(url).status_code == 200
    response = admin.post_form(url, {"role": "partner"}, token_from=url)
    assert response.status_code == 303
    assert _role_of(session, email_for(Role.VIEWER)) == "partner"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "role.set")
                            .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.detail == {"from": "viewer", "to": "partner"}
    assert event.actor_label == email_for(Role.ADMIN)


def test_bad_role_is_named(admin, demo, session) -> None:  # noqa: F811
    viewer = _user(session, email_for(Role.VIEWER))
    url = f"{_base(demo)}/{viewer.id}/role"
    response = admin.post_form(url, {"role": "emperor"}, token_from=url)
    assert response.status_code == 400 and 'href="#role"' in response.text
    assert _role_of(session, email_for(Role.VIEWER)) == "viewer"


def test_remove_a_role_after_confirming(admin, demo, session) -> None:  # noqa: F811
    viewer = _user(session, email_for(Role.VIEWER))
    url = f"{_base(demo)}/{viewer.id}/remove"
    page = admin.get(url)
    assert "Are you sure you want to remove Sam Taylor" in page.text
    unanswered = admin.post_form(url, {}, token_from=url)
    assert unanswered.status_code == 400 and 'href="#confirm"' in unanswered.text
    assert admin.post_form(url, {"confirm": "no"}, token_from=url).status_code == 303
    assert _role_of(session, email_for(Role.VIEWER)) == "viewer"
    assert admin.post_form(url, {"confirm": "yes"}, token_from=url).status_code == 303
    assert _role_of(session, email_for(Role.VIEWER)) is None
    assert _actions(session)[-1] == "role.removed"
    assert admin.get(url).status_code == 404


def test_the_last_admin_cannot_give_up_the_role(admin, demo, session) -> None:  # noqa: F811
    me = _user(session, email_for(Role.ADMIN))
    remove = f"{_base(demo)}/{me.id}/remove"
    response = admin.post_form(remove, {"confirm": "yes"}, token_from=remove)
    assert response.status_code == 400 and "is the only administrator of Northbrook" in response.text
    role = f"{_base(demo)}/{me.id}/role"
    response = admin.post_form(role, {"role": "viewer"}, token_from=role)
    assert response.status_code == 400 and "Make someone else an administrator first" in response.text
    assert _role_of(session, email_for(Role.ADMIN)) == "admin"


def test_with_a_second_admin_an_admin_can_step_down(admin, demo, session) -> None:  # noqa: F811
    lead = _user(session, email_for(Role.LEAD))
    url = f"{_base(demo)}/{lead.id}/role"
    assert admin.post_form(url, {"role": "admin"}, token_from=url).status_code == 303
    me = _user(session, email_for(Role.ADMIN))
    mine = f"{_base(demo)}/{me.id}/role"
    response = admin.post_form(mine, {"role": "lead"}, token_from=mine)
    assert response.status_code == 303 and response.headers["location"] == f"/places/{demo.place_slug}"
    assert admin.get(_base(demo)).status_code == 403


def test_unknown_user_is_not_found(admin, demo) -> None:  # noqa: F811
    assert admin.get(f"{_base(demo)}/99999/role").status_code == 404
    assert admin.get(f"{_base(demo)}/abc/role").status_code == 404


def test_lead_cannot_manage_users(client, demo) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert client.get(_base(demo)).status_code == 403
    assert "/users" not in client.get(f"/places/{demo.place_slug}").text
