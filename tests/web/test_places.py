"""The place pages, its settings and its audit log."""

from __future__ import annotations

from sqlalchemy import select

from joinedup.audit import AuditEvent
from joinedup.places.models import Place
from joinedup.places.roles import Role
from tests.support.factories import make_place, make_user


def test_place_pages_show_partners_services_and_people(client, session) -> None:
    place = make_place(session)
    user = make_user(session, place, Role.VIEWER)
    session.commit()
    client.sign_in(user.email)
    assert "3 partners" in client.get("/places/testville").text
    partners = client.get("/places/testville/partners").text
    assert "Testville Police" in partners and "Police and justice" in partners
    assert "Emergency Department" in client.get("/places/testville/services").text
    assert "Test viewer" in client.get("/places/testville/people").text


def test_framework_page_lists_all_twelve_components(client) -> None:
    from joinedup import framework

    page = client.get("/framework").text
    for c in framework.COMPONENTS:
        assert c.name.replace("and", "and") in page.replace("&amp;", "&")


def test_admin_changes_settings_and_it_is_audited(client, session) -> None:
    place = make_place(session)
    admin = make_user(session, place, Role.ADMIN)
    session.commit()
    client.sign_in(admin.email)
    response = client.post_form("/places/testville/settings", {
        "adult_population": "61,000", "disclosure_threshold": "10", "disclosure_rounding": "5",
        "min_group_size": "7"}, token_from="/places/testville/settings")
    assert response.status_code == 303
    session.expire_all()
    saved = session.scalar(select(Place).where(Place.slug == "testville"))
    assert (saved.adult_population, saved.disclosure_threshold, saved.min_group_size) == (61000, 10, 7)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "place.settings_changed"))
    assert event.detail["disclosure_threshold"] == {"from": 8, "to": 10}
    assert "place.settings_changed" in client.get("/places/testville/audit").text


def test_bad_settings_name_the_field_and_change_nothing(client, session) -> None:
    place = make_place(session)
    admin = make_user(session, place, Role.ADMIN)
    session.commit()
    client.sign_in(admin.email)
    response = client.post_form("/places/testville/settings", {
        "adult_population": "lots", "disclosure_threshold": "0", "disclosure_rounding": "5",
        "min_group_size": "5"}, token_from="/places/testville/settings")
    assert response.status_code == 400
    assert 'href="#adult_population"' in response.text and 'href="#disclosure_threshold"' in response.text
    assert "The adult population must be a whole number" in response.text
    session.expire_all()
    assert session.scalar(select(Place.adult_population).where(Place.slug == "testville")) == 50_000


def test_lead_cannot_change_settings(client, session) -> None:
    place = make_place(session)
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    assert client.get("/places/testville/settings").status_code == 403


def test_settings_cannot_turn_disclosure_control_off(client, session) -> None:
    # Seen: a rounding base of 1 with a threshold of 1 was accepted, publishing exact counts.
    place = make_place(session)
    admin = make_user(session, place, Role.ADMIN)
    session.commit()
    client.sign_in(admin.email)
    response = client.post_form("/places/testville/settings", {
        "adult_population": "", "disclosure_threshold": "1", "disclosure_rounding": "1",
        "min_group_size": "1"}, token_from="/places/testville/settings")
    assert response.status_code == 400
    for field in ("disclosure_threshold", "disclosure_rounding", "min_group_size"):
        assert f'href="#{field}"' in response.text
    session.expire_all()
    saved = session.scalar(select(Place).where(Place.slug == "testville"))
    assert (saved.disclosure_threshold, saved.disclosure_rounding) == (8, 5)
