"""A viewer is refused every page their role does not allow, found by walking the route table.

Routes whose rule is ``requires:X`` where the viewer role lacks X must answer 403 to a
signed-in viewer, for GET and for a properly tokened POST, and change nothing. Path values
come from the demo-like data (the place, a real collaboration, a real user); any other
path parameter gets "1", since the rule is checked before the page looks anything up.
The same walk is then made as a partner, an analyst and a lead.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.places.models import User
from joinedup.places.roles import GRANTS, Capability, Role
from joinedup.web.app import create_app
from tests.support.demo_like import DEMO_PASSWORD, demo, email_for  # noqa: F401
from tests.web.test_route_rules import _rules, api_routes

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def forbidden_routes(role: Role, settings: Settings) -> list[tuple[str, str]]:
    """(method, path template) of every route the role's capabilities do not cover."""
    app = create_app(settings)
    found = []
    for route in api_routes(app.routes):
        rules = [r for r in _rules(route.dependant) if r.startswith("requires:")]
        if not rules:
            continue
        capability = Capability(rules[0].split(":", 1)[1])
        if capability in GRANTS[role]:
            continue
        for method in sorted(route.methods):
            found.append((method, route.path))
    return found


def _fill(path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values.get(m.group(1), "1"), path)


def _refused_everything_forbidden(client, demo, session, settings, role: Role) -> None:  # noqa: F811
    routes = forbidden_routes(role, settings)
    admin = session.scalar(select(User).where(User.email == email_for(Role.ADMIN)))
    assert admin is not None
    values = {"place": demo.place_slug, "collab": demo.collaboration_slugs[0], "user_id": str(admin.id)}

    client.sign_in(email_for(role), DEMO_PASSWORD)
    token_page = f"/places/{demo.place_slug}"
    events_before = session.scalar(select(func.count(AuditEvent.id)))
    problems = []
    for method, template in routes:
        url = _fill(template, values)
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            response = client.post_form(url, {"name": "Forged", "status": "closed", "role": "viewer",
                                              "confirm": "yes", "email": "x@example.org"},
                                        token_from=token_page)
        if response.status_code != 403:
            problems.append(f"{method} {url}: {response.status_code}")
        elif method == "GET":
            assert "You do not have permission to see this page" in response.text
    assert not problems, f"{role.value} not refused:\n" + "\n".join(problems)
    session.expire_all()
    # Nothing the forms would have done was recorded.
    assert session.scalar(select(func.count(AuditEvent.id))) == events_before


def test_viewer_is_refused_every_page_their_role_lacks(client, demo, session, settings) -> None:  # noqa: F811
    paths = {p for _, p in forbidden_routes(Role.VIEWER, settings)}
    # The walk must see at least the charter editing and user management pages.
    assert "/places/{place}/collaborations/{collab}/edit/questions" in paths
    assert "/places/{place}/users/{user_id}/remove" in paths
    _refused_everything_forbidden(client, demo, session, settings, Role.VIEWER)


@pytest.mark.parametrize("role", [Role.PARTNER, Role.ANALYST, Role.LEAD], ids=lambda r: r.value)
def test_every_role_is_refused_what_it_lacks(client, demo, session, settings, role) -> None:  # noqa: F811
    assert forbidden_routes(role, settings), f"{role.value} should lack something"
    _refused_everything_forbidden(client, demo, session, settings, role)


def test_viewer_can_read_the_place_and_its_charters(client, demo) -> None:  # noqa: F811
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    base = f"/places/{demo.place_slug}"
    for path in ("", "/partners", "/services", "/people", "/collaborations",
                 f"/collaborations/{demo.collaboration_slugs[0]}",
                 f"/collaborations/{demo.collaboration_slugs[0]}/history",
                 f"/collaborations/{demo.collaboration_slugs[0]}/print"):
        assert client.get(base + path).status_code == 200, path


def test_a_forged_form_without_the_token_is_refused(client, demo, session) -> None:  # noqa: F811
    client.sign_in(email_for(Role.ADMIN), DEMO_PASSWORD)
    url = f"/places/{demo.place_slug}/users/add"
    client.get(url)
    forged = client.post(url, data={"email": "new@example.org", "role": "admin", "name": "Mallory",
                                    "password": "a long password!"}, follow_redirects=False)
    assert forged.status_code == 403
    assert session.scalar(select(User).where(User.email == "new@example.org")) is None
