"""A place's opt-in public page (issue 11): off by default and then indistinguishable from no
place at all; once on, exactly the controlled figures a partner sees on the state overview and
nothing else; the setting is for leads and administrators, CSRF-protected, audited, all-or-nothing."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.places.public_page import PublicPage
from joinedup.places.roles import Role
from tests.board.test_overview import linked, place_with_everything  # noqa: F401
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

SLUG = "northbrook"
SETTING = f"/places/{SLUG}/public-page"
GOOD = {"enabled": "yes", "contact_email": "together@northbrook.example",
        "contact_phone": "01234 567890", "contact_address": "Town hall\nNorthbrook",
        "privacy_notice": "We use records the partners share.\n\nAsk us for a copy.",
        "accessibility_statement": ""}


def _publish(client: PageClient, data: dict[str, str] | None = None) -> None:
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    response = client.post_form(SETTING, data or GOOD, token_from=SETTING)
    assert response.status_code == 303, response.text
    client.cookies.clear()  # what follows is anyone, not signed in


def _figures(html: str) -> list[tuple[str, str]]:
    return [(k.strip(), v.strip()) for k, v in re.findall(
        r'<dt class="govuk-summary-list__key">([^<]+)</dt>\s*<dd[^>]*><span[^>]*>([^<]+)</span>', html)]


def test_a_place_that_has_not_opted_in_is_not_found_and_not_named(
        client: PageClient, demo: DemoLike) -> None:  # noqa: F811
    for path in (f"/public/{SLUG}", f"/public/{SLUG}/privacy", f"/public/{SLUG}/accessibility"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Northbrook" not in response.text and "northbrook" not in response.text.lower()
    # The same answer as a place that does not exist at all.
    assert client.get("/public/nowhere").status_code == 404


def test_the_public_page_shows_exactly_the_partners_controlled_figures(
        client: PageClient, session: Session, place_with_everything: dict[str, int]) -> None:  # noqa: F811
    client.sign_in(email_for(Role.PARTNER), DEMO_PASSWORD)
    overview = client.get(f"/places/{SLUG}/state").text
    client.cookies.clear()
    _publish(client)
    response = client.get(f"/public/{SLUG}")
    assert response.status_code == 200
    html = response.text
    seen, shown = _figures(overview), _figures(html)
    assert seen and shown == seen  # the same figures in the same order: nothing extra
    for label, value in seen:
        if value == "Not shown":  # suppressed for the partner: suppressed here too
            assert (label, "Not shown") in shown
    # Never a link into the partners' own pages, a person, or a sign-in page.
    assert f"/places/{SLUG}" not in html and "/insight/" not in html
    assert f'href="/public/{SLUG}/privacy"' in html and f'href="/public/{SLUG}/accessibility"' in html
    assert "together@northbrook.example" in html and "01234 567890" in html
    assert "rounded" in html.lower()  # the disclosure rule, in words


def test_notices_and_the_default_accessibility_statement(client: PageClient, demo: DemoLike) -> None:  # noqa: F811
    _publish(client)
    privacy = client.get(f"/public/{SLUG}/privacy")
    assert privacy.status_code == 200 and "Ask us for a copy." in privacy.text
    statement = client.get(f"/public/{SLUG}/accessibility").text
    assert "2.2" in statement and "together@northbrook.example" in statement


def test_after_opting_out_the_page_is_not_found_again(
        client: PageClient, session: Session, demo: DemoLike) -> None:  # noqa: F811
    _publish(client)
    assert client.get(f"/public/{SLUG}").status_code == 200
    _publish(client, {**GOOD, "enabled": "no"})
    for path in (f"/public/{SLUG}", f"/public/{SLUG}/privacy", f"/public/{SLUG}/accessibility"):
        gone = client.get(path)
        assert gone.status_code == 404 and "Northbrook" not in gone.text
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("place.public_page%")).order_by(AuditEvent.id)).all()
    assert actions == ["place.public_page_on", "place.public_page_off"]


def test_the_setting_refuses_those_who_may_not_and_posts_without_a_token(
        client: PageClient, session: Session, demo: DemoLike) -> None:  # noqa: F811
    client.sign_in(email_for(Role.PARTNER), DEMO_PASSWORD)
    assert client.get(SETTING).status_code == 403
    assert client.post_form(SETTING, GOOD, token_from="/").status_code == 403
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    no_token = client.post(SETTING, data=GOOD, follow_redirects=False)
    assert no_token.status_code in (400, 403)
    assert session.scalars(select(PublicPage)).all() == []


def test_bad_input_names_the_field_and_saves_nothing(
        client: PageClient, session: Session, demo: DemoLike) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    response = client.post_form(SETTING, {**GOOD, "contact_email": "not an email", "privacy_notice": " "},
                                token_from=SETTING)
    assert response.status_code == 400
    assert 'href="#contact_email"' in response.text and 'href="#privacy_notice"' in response.text
    assert "Enter a contact email address in the correct format" in response.text
    assert "Enter the privacy notice" in response.text
    session.expire_all()
    assert session.scalars(select(PublicPage)).all() == []
    assert session.scalars(select(AuditEvent).where(AuditEvent.action.like("place.public_page%"))).all() == []
    client.cookies.clear()
    assert client.get(f"/public/{SLUG}").status_code == 404


def test_the_place_overview_says_whether_the_public_page_is_on(
        client: PageClient, demo: DemoLike) -> None:  # noqa: F811
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    before = client.get(f"/places/{SLUG}").text
    assert f'href="/public/{SLUG}"' not in before and f'href="{SETTING}"' not in before
    _publish(client)
    client.sign_in(email_for(Role.VIEWER), DEMO_PASSWORD)
    assert f'href="/public/{SLUG}">view it</a>' in client.get(f"/places/{SLUG}").text
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert f'href="{SETTING}"' in client.get(f"/places/{SLUG}").text
    # The state of collaboration says so too, where the lead reads the figures it shows.
    assert f'href="/public/{SLUG}">view the public page</a>' in client.get(f"/places/{SLUG}/state").text


def test_the_state_overview_does_not_offer_a_page_that_is_off(
        client: PageClient, demo: DemoLike) -> None:  # noqa: F811
    client.sign_in(email_for(Role.LEAD), DEMO_PASSWORD)
    assert f'href="/public/{SLUG}"' not in client.get(f"/places/{SLUG}/state").text
