"""Sign-in throttling: an attacker is slowed down, by address and by account, with a growing
wait; the account's owner is never locked out by someone else's failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.db.base import utcnow
from joinedup.places import throttle
from joinedup.places.roles import Role
from joinedup.places.service import create_place
from joinedup.places.users import create_user, set_role
from joinedup.web.app import create_app
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

ATTACKER = ("203.0.113.9", 40000)
OWNER = ("198.51.100.7", 40001)
OFFICE = ("192.0.2.44", 40002)


@pytest.fixture
def browsers(settings: Settings) -> Iterator[dict[str, PageClient]]:
    """Clients at different addresses, on one server whose first wait is long enough that a
    slow test machine cannot outlast it between two requests."""
    app = create_app(settings.model_copy(update={"login_base_delay": 60}))
    clients = {}
    for name, address in (("attacker", ATTACKER), ("owner", OWNER), ("office", OFFICE)):
        clients[name] = PageClient(app, base_url="http://testserver", client=address)
        clients[name].__enter__()
    yield clients
    for c in clients.values():
        c.__exit__(None, None, None)


def _fail(client: PageClient, email: str, times: int) -> list[int]:
    return [client.post_form("/sign-in", {"email": email, "password": f"guess number {i}"}).status_code
            for i in range(times)]


def _actions(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_attacker_cannot_lock_the_administrator_out(browsers, demo, settings) -> None:  # noqa: F811
    admin = email_for(Role.ADMIN)
    _fail(browsers["attacker"], admin, settings.login_max_failures + 3)
    # The administrator, elsewhere, signs in with the right password at once.
    browsers["owner"].sign_in(admin, DEMO_PASSWORD)
    assert browsers["owner"].get("/", follow_redirects=False).status_code == 200


def test_the_attacker_is_told_to_wait(browsers, demo, settings, session) -> None:  # noqa: F811
    admin = email_for(Role.ADMIN)
    codes = _fail(browsers["attacker"], admin, settings.login_max_failures)
    assert codes == [400] * settings.login_max_failures
    slowed = browsers["attacker"].post_form("/sign-in", {"email": admin, "password": DEMO_PASSWORD})
    assert slowed.status_code == 429
    assert "Too many failed attempts to sign in" in slowed.text and "Wait 1 minute" in slowed.text
    assert 'href="#email"' in slowed.text
    assert 0 < int(slowed.headers["retry-after"]) <= 60
    # Refused without trying the password, and written to the audit log once, not per request.
    for _ in range(3):
        again = browsers["attacker"].post_form("/sign-in", {"email": admin, "password": "x"})
        assert again.status_code == 429
    throttled = _actions(session, "sign_in.throttled")
    assert len(throttled) == 1 and throttled[0].ip == ATTACKER[0] and throttled[0].subject == admin
    assert len(_actions(session, "sign_in.failed")) == settings.login_max_failures


def test_spraying_many_accounts_from_one_address_is_slowed(browsers, demo, settings) -> None:  # noqa: F811
    emails = [f"guess{i}@northbrook.example" for i in range(settings.login_address_max_failures)]
    for email in emails:
        assert _fail(browsers["attacker"], email, 1) == [400]
    fresh = browsers["attacker"].post_form("/sign-in", {"email": email_for(Role.LEAD),
                                                        "password": DEMO_PASSWORD})
    assert fresh.status_code == 429
    browsers["owner"].sign_in(email_for(Role.LEAD), DEMO_PASSWORD)


def test_the_owners_own_typos_slow_only_them(browsers, demo, settings) -> None:  # noqa: F811
    lead = email_for(Role.LEAD)
    _fail(browsers["owner"], lead, settings.login_max_failures)
    own = browsers["owner"].post_form("/sign-in", {"email": lead, "password": DEMO_PASSWORD})
    assert own.status_code == 429
    browsers["office"].sign_in(lead, DEMO_PASSWORD)


def test_unknown_and_known_accounts_are_throttled_alike(browsers, demo, settings) -> None:  # noqa: F811
    known = _fail(browsers["attacker"], email_for(Role.VIEWER), settings.login_max_failures + 1)
    unknown = _fail(browsers["office"], "nobody@northbrook.example", settings.login_max_failures + 1)
    assert known == unknown == [400] * settings.login_max_failures + [429]


def test_waits_grow_and_end(session: Session, settings: Settings) -> None:
    policy = throttle.Policy.from_settings(settings)
    email, ip = "someone@example.org", "203.0.113.50"
    start = utcnow()
    waits = []
    for i in range(policy.account_free + 4):
        at = start + timedelta(seconds=i)
        throttle.record_failure(session, email, ip, at=at)
        session.flush()
        waits.append(throttle.check(session, email, ip, policy, now=at).wait)
    free = policy.account_free
    assert waits[: free - 1] == [0] * (free - 1)
    assert waits[free - 1:] == [policy.base_delay * 2 ** k for k in range(5)]
    last = start + timedelta(seconds=len(waits) - 1)
    assert throttle.check(session, email, ip, policy, now=last + timedelta(seconds=waits[-1] + 1)).wait == 0
    # Another address is not slowed by these failures.
    assert throttle.check(session, email, "198.51.100.1", policy, now=last).wait == 0


def test_the_wait_never_exceeds_the_cap(session: Session, settings: Settings) -> None:
    policy = throttle.Policy.from_settings(settings)
    at = utcnow()
    for _ in range(policy.account_free + 30):
        throttle.record_failure(session, "x@example.org", "203.0.113.60", at=at)
    session.flush()
    assert throttle.check(session, "x@example.org", "203.0.113.60", policy, now=at).wait == policy.max_delay


def test_administrators_see_attempts_on_their_own_people_only(browsers, demo, session) -> None:  # noqa: F811
    other = create_place(session, name="Elsewhere", slug="elsewhere")
    kim = create_user(session, name="Kim Other", email="kim@elsewhere.example", password="x" * 12)
    set_role(session, kim, other, Role.LEAD)
    session.commit()
    _fail(browsers["attacker"], email_for(Role.ANALYST), 2)
    _fail(browsers["attacker"], "kim@elsewhere.example", 2)
    admin = browsers["owner"]
    admin.sign_in(email_for(Role.ADMIN), DEMO_PASSWORD)
    users = admin.get(f"/places/{demo.place_slug}/users")
    assert f"/places/{demo.place_slug}/users/sign-ins" in users.text
    page = admin.get(f"/places/{demo.place_slug}/users/sign-ins")
    assert page.status_code == 200
    assert email_for(Role.ANALYST) in page.text and ATTACKER[0] in page.text
    assert "Wrong password" in page.text
    assert "kim@elsewhere.example" not in page.text and "Kim Other" not in page.text


def test_only_administrators_see_sign_in_attempts(browsers, demo) -> None:  # noqa: F811
    browsers["owner"].sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert browsers["owner"].get(f"/places/{demo.place_slug}/users/sign-ins").status_code == 403
