"""Managing a place's users: add, invite, change a role, remove, and always one administrator."""

from __future__ import annotations

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


def test_add_a_new_user(admin, demo, session) -> None:  # noqa: F811
    response = admin.post_form(_base(demo) + "/add", {
        "email": "Jo@Example.org", "role": "analyst", "name": "Jo Bloggs", "password": "a temporary one!",
    }, token_from=_base(demo))
    assert response.status_code == 303
    assert _role_of(session, "jo@example.org") == "analyst"
    assert "Account made for Jo Bloggs" in admin.get(_base(demo)).text
    assert _actions(session)[-1] == "role.set"
    # The new person can sign in with the temporary password.
    admin.post_form("/sign-out", token_from="/")
    admin.sign_in("jo@example.org", "a temporary one!")


def test_invite_an_existing_user_from_another_place(admin, demo, session) -> None:  # noqa: F811
    other = create_place(session, name="Elsewhere", slug="elsewhere")
    user = create_user(session, name="Kim Other", email="kim@example.org", password="x" * 12)
    set_role(session, user, other, Role.LEAD)
    session.commit()
    response = admin.post_form(_base(demo) + "/add", {"email": "kim@example.org", "role": "partner"},
                               token_from=_base(demo))
    assert response.status_code == 303
    assert "Kim Other now has the role partner organisation user" in admin.get(_base(demo)).text


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
