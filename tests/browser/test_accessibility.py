"""axe-core finds no WCAG 2.2 AA problem on any page type, including pages showing errors.

Each page is also saved as a screenshot in test-results/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from joinedup.db.session import make_session
from joinedup.places.models import User
from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, submit
from tests.support.demo_like import email_for
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

P = "/places/northbrook"
C = P + "/collaborations/fulfilling-lives-in-northbrook"

# (screenshot name, role to sign in as or None, path, expected status)
PAGES: list[tuple[str, Role | None, str, int]] = [
    ("sign-in", None, "/sign-in", 200),
    ("home", Role.LEAD, "/", 200),
    ("place-overview", Role.LEAD, P, 200),
    ("partners", Role.LEAD, P + "/partners", 200),
    ("services", Role.LEAD, P + "/services", 200),
    ("people", Role.LEAD, P + "/people", 200),
    ("framework", None, "/framework", 200),
    ("collaborations", Role.LEAD, P + "/collaborations", 200),
    ("collaboration-new", Role.LEAD, P + "/collaborations/new", 200),
    ("charter", Role.LEAD, C, 200),
    ("charter-forming", Role.LEAD, P + "/collaborations/northbrook-domestic-abuse-partnership", 200),
    ("charter-as-viewer", Role.VIEWER, C, 200),
    *[(f"edit-{part}", Role.LEAD, f"{C}/edit/{part}", 200)
      for part in ("questions", "partners", "measures", "risks", "resources", "status")],
    ("history", Role.LEAD, C + "/history", 200),
    ("print", Role.LEAD, C + "/print", 200),
    ("users", Role.ADMIN, P + "/users", 200),
    ("users-add", Role.ADMIN, P + "/users/add", 200),
    ("users-role", Role.ADMIN, P + "/users/{viewer}/role", 200),
    ("users-remove", Role.ADMIN, P + "/users/{viewer}/remove", 200),
    ("users-sign-ins", Role.ADMIN, P + "/users/sign-ins", 200),
    ("settings", Role.ADMIN, P + "/settings", 200),
    ("account", Role.LEAD, "/account", 200),
    ("account-password", Role.LEAD, "/account/password", 200),
    ("account-invitations", Role.LEAD, "/account/invitations", 200),
    ("error-403", Role.VIEWER, C + "/edit/questions", 403),
    ("error-404", Role.LEAD, "/no/such/page", 404),
]


def _viewer_id(server: RunningServer) -> int:
    with make_session(server.settings) as session:
        user_id = session.scalar(select(User.id).where(User.email == email_for(Role.VIEWER)))
    assert user_id is not None
    return int(user_id)


@pytest.mark.parametrize(("name", "role", "path", "status"), PAGES, ids=[p[0] for p in PAGES])
def test_page_has_no_wcag_violations(page: Any, server: RunningServer, name: str, role: Role | None,
                                     path: str, status: int) -> None:
    if role is not None:
        sign_in(page, email_for(role))
    response = page.goto(path.format(viewer=_viewer_id(server)))
    assert response is not None and response.status == status
    check_accessibility(page, name)
    screenshot(page, name)


def test_print_view_as_printed(page: Any) -> None:
    sign_in(page, email_for(Role.LEAD))
    page.goto(C + "/print")
    page.emulate_media(media="print")
    assert page.locator(".govuk-header").is_hidden()
    assert page.locator(".app-print-only").is_visible()
    screenshot(page, "print-as-printed")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the charter printed on {pages} pages, not one"


# Forms showing their errors: (name, role, path, fields to fill, button)
ERROR_PAGES: list[tuple[str, Role, str, dict[str, str], str]] = [
    ("error-new-collaboration", Role.LEAD, P + "/collaborations/new", {}, "Start the collaboration"),
    ("error-measures", Role.LEAD, C + "/edit/measures", {"#measures-2-name": "Only a name"}, "Save"),
    ("error-partners", Role.LEAD, P + "/collaborations/northbrook-domestic-abuse-partnership/edit/partners",
     {"[name$='-signed_by'] >> nth=0": "Someone"}, "Save"),
    ("error-resources", Role.LEAD, C + "/edit/resources", {"#resources-0-amount": "lots"}, "Save"),
    ("error-risks", Role.LEAD, C + "/edit/risks", {"#risks-2-description": "Only a description"}, "Save"),
    ("error-users-add", Role.ADMIN, P + "/users/add", {"#email": "not an email"}, "Add user"),
    ("error-sign-in", Role.LEAD, "/sign-in", {}, "Sign in"),
    ("error-settings", Role.ADMIN, P + "/settings", {"#disclosure_threshold": "1"}, "Save settings"),
    ("error-password", Role.LEAD, "/account/password", {}, "Change password"),
]


@pytest.mark.parametrize(("name", "role", "path", "fill", "button"), ERROR_PAGES,
                         ids=[p[0] for p in ERROR_PAGES])
def test_form_errors_have_no_wcag_violations(page: Any, name: str, role: Role, path: str,
                                             fill: dict[str, str], button: str) -> None:
    if path != "/sign-in":
        sign_in(page, email_for(role))
    page.goto(path)
    for selector, value in fill.items():
        page.fill(selector, value)
    submit(page, page.get_by_role("button", name=button, exact=True))
    assert page.locator(".govuk-error-summary").is_visible()
    check_accessibility(page, name)
    screenshot(page, name)
