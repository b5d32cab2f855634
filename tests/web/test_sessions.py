"""Server-side sessions: signing out, a password change, losing a role or the account, and the
idle and absolute timeouts each end a session for good, whatever the browser still holds."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from joinedup.audit import AuditEvent
from joinedup.cli import app as cli_app
from joinedup.collaborations.models import CharterRevision
from joinedup.config import Settings
from joinedup.db.base import utcnow
from joinedup.places.models import User, UserSession
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

COOKIE = "joinedup_session"


@pytest.fixture
def second(client: PageClient) -> Iterator[PageClient]:
    """A second browser on the same server."""
    with PageClient(client.app, base_url="http://testserver") as other:
        yield other


def _revisions(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count(CharterRevision.id))) or 0)


def _questions(d: DemoLike) -> str:
    return f"/places/{d.place_slug}/collaborations/{d.collaboration_slugs[0]}/edit/questions"


def _replay(client: PageClient, cookie: str) -> None:
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)


def _signed_in(client: PageClient) -> bool:
    response = client.get("/", follow_redirects=False)
    return response.status_code == 200


def _save_questions(client: PageClient, d: DemoLike, token: str) -> object:
    return client.post(_questions(d), data={
        "csrf_token": token, "name": "Replayed", "problem": "Written by a replayed cookie",
        "shared_goal": "None", "value_accounting": "None"}, follow_redirects=False)


def test_a_cookie_copied_before_sign_out_is_refused_after_it(client, demo, session) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    token = client.csrf(_questions(demo))
    copied = client.cookies.get(COOKIE)
    assert copied and _signed_in(client)
    assert client.post_form("/sign-out", token_from="/").status_code == 303
    before = _revisions(session)

    _replay(client, copied)
    assert not _signed_in(client)
    _replay(client, copied)  # the server cleared it above; an attacker sends the copy again
    response = _save_questions(client, demo, token)
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")
    assert _revisions(session) == before
    session.expire_all()
    assert "sign_out" in session.scalars(select(AuditEvent.action)).all()


def test_the_cookie_holds_a_random_session_id_and_the_database_only_its_hash(client, demo,  # noqa: F811
                                                                               session) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    cookie = client.cookies.get(COOKIE)
    assert cookie
    payload = cookie.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert "uid" not in data and set(data) <= {"sid", "csrf"}
    session.expire_all()
    stored = session.scalars(select(UserSession)).all()
    assert len(stored) == 1 and stored[0].token_hash != data["sid"]
    assert data["sid"] not in stored[0].token_hash
    assert len(data["sid"]) >= 40


def test_changing_the_password_ends_the_other_sessions(client, second, demo, session) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    second.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    response = client.post_form("/account/password", {
        "current": DEMO_PASSWORD, "new": "a brand new passphrase", "confirm": "a brand new passphrase",
    }, token_from="/account/password")
    assert response.status_code == 303
    assert _signed_in(client)          # the session that changed it goes on
    assert not _signed_in(second)      # every other one has ended
    second.sign_in(email_for(Role.LEAD), "a brand new passphrase")
    refused = second.post_form("/sign-in", {"email": email_for(Role.LEAD), "password": DEMO_PASSWORD})
    assert refused.status_code == 400


def test_a_wrong_current_password_changes_nothing(client, second, demo) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    second.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    response = client.post_form("/account/password", {
        "current": "not my password", "new": "a brand new passphrase", "confirm": "a brand new passphrase",
    }, token_from="/account/password")
    assert response.status_code == 400 and 'href="#current"' in response.text
    assert _signed_in(second)


def test_removing_a_role_ends_that_persons_sessions(client, second, demo, session) -> None:  # noqa: F811
    second.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    client.sign_in(email_for(Role.ADMIN), DEMO_PASSWORD)
    viewer = session.scalar(select(User).where(User.email == email_for(Role.VIEWER)))
    assert viewer is not None
    url = f"/places/{demo.place_slug}/users/{viewer.id}/remove"
    assert client.post_form(url, {"confirm": "yes"}, token_from=url).status_code == 303
    assert not _signed_in(second)
    assert _signed_in(client)


def test_a_role_change_takes_effect_on_the_next_request(client, second, demo, session) -> None:  # noqa: F811
    second.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    token = second.csrf(_questions(demo))
    client.sign_in(email_for(Role.ADMIN), DEMO_PASSWORD)
    lead = session.scalar(select(User).where(User.email == email_for(Role.LEAD)))
    assert lead is not None
    url = f"/places/{demo.place_slug}/users/{lead.id}/role"
    assert client.post_form(url, {"role": "viewer"}, token_from=url).status_code == 303
    before = _revisions(session)
    response = _save_questions(second, demo, token)
    assert response.status_code == 403
    assert _revisions(session) == before


def test_deactivating_an_account_ends_its_sessions(client, demo, cli_env: Settings) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    result = CliRunner().invoke(cli_app, ["users", "deactivate", email_for(Role.LEAD)])
    assert result.exit_code == 0, result.output
    assert not _signed_in(client)
    refused = client.post_form("/sign-in", {"email": email_for(Role.LEAD), "password": DEMO_PASSWORD})
    assert refused.status_code == 400


def test_the_operator_can_sign_someone_out_everywhere(client, second, demo,  # noqa: F811
                                                      cli_env: Settings) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    second.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    result = CliRunner().invoke(cli_app, ["users", "sign-out", email_for(Role.LEAD)])
    assert result.exit_code == 0 and "2 sessions" in result.output, result.output
    assert not _signed_in(client) and not _signed_in(second)


def test_an_idle_session_ends(client, demo, session, settings: Settings) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert _signed_in(client)
    idle = utcnow() - timedelta(seconds=settings.session_idle_timeout + 1)
    session.execute(update(UserSession).values(last_seen_at=idle))
    session.commit()
    assert not _signed_in(client)


def test_a_session_ends_at_its_absolute_lifetime_however_busy(client, demo, session,  # noqa: F811
                                                               settings: Settings) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    started = utcnow() - timedelta(seconds=settings.session_max_age + 1)
    session.execute(update(UserSession).values(created_at=started, expires_at=started + timedelta(
        seconds=settings.session_max_age), last_seen_at=utcnow()))
    session.commit()
    assert not _signed_in(client)


def test_activity_keeps_a_session_alive(client, demo, session, settings: Settings) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    # Seen a while ago, but within the idle timeout: the next request renews it.
    nearly = utcnow() - timedelta(seconds=settings.session_idle_timeout - 30)
    session.execute(update(UserSession).values(last_seen_at=nearly))
    session.commit()
    assert _signed_in(client)
    session.expire_all()
    seen = session.scalar(select(UserSession.last_seen_at))
    assert seen is not None and seen.replace(tzinfo=nearly.tzinfo) > nearly + timedelta(seconds=20)


def test_signing_in_again_replaces_the_session(client, demo, session) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    first = client.cookies.get(COOKIE)
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert first
    _replay(client, first)
    assert not _signed_in(client)


def test_an_operator_password_reset_ends_every_session(client, second, demo,  # noqa: F811
                                                      cli_env: Settings) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    second.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    result = CliRunner().invoke(cli_app, ["users", "set-password", email_for(Role.LEAD),
                                          "--password", "set by the operator"])
    assert result.exit_code == 0 and "2 sessions ended" in result.output, result.output
    assert not _signed_in(client) and not _signed_in(second)
    client.sign_in(email_for(Role.LEAD), "set by the operator")
    result = CliRunner().invoke(cli_app, ["users", "activate", email_for(Role.LEAD)])
    assert result.exit_code == 0 and _signed_in(client)


def test_the_operator_sees_every_failed_sign_in(client, demo, cli_env: Settings) -> None:  # noqa: F811
    client.post_form("/sign-in", {"email": "no-such-person@example.org", "password": "a guess at it"})
    result = CliRunner().invoke(cli_app, ["users", "sign-ins", "--days", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "no-such-person@example.org" in result.output, result.output


def test_your_account_lists_where_you_are_signed_in(client, second, demo) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    second.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    page = client.get("/account")
    assert page.status_code == 200 and "(this browser)" in page.text
    body = page.text[page.text.index("<tbody"):page.text.index("</tbody>")]
    assert body.count("govuk-table__row") == 2  # both sessions, with the address they came from
    done = client.post_form("/account/sign-out-elsewhere", token_from="/account")
    assert done.status_code == 303
    assert _signed_in(client) and not _signed_in(second)
