"""Partners and services in the web app: a lead or administrator keeps them; everyone else reads.

Issue 8's bad input: a partner name that already exists, a service without a partner, a
partner of another place; each gets the GOV.UK error pattern and nothing is saved.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.config import Settings
from joinedup.insight.store import open_store
from joinedup.places.models import Membership, Partner, Place, Service
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.factories import make_place, make_user, partner_named

BASE = "/places/testville"


def _signed_in(client: PageClient, session: Session, role: Role) -> Place:
    place = make_place(session)
    user = make_user(session, place, role)
    session.commit()
    client.sign_in(user.email)
    return place


def _count(session: Session, model: type, *where: object) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _error_pattern(html: str, field: str, message: str) -> None:
    assert "govuk-error-summary" in html and f'href="#{field}"' in html
    assert message in html
    assert html.count(message) >= 2, "the message is in the summary and on the field"


@pytest.mark.parametrize("role", [Role.LEAD, Role.ADMIN])
def test_lead_or_admin_adds_a_partner_and_a_service(client: PageClient, session: Session, role: Role) -> None:
    _signed_in(client, session, role)
    page = client.get(f"{BASE}/partners").text
    assert "Add a partner" in page
    response = client.post_form(f"{BASE}/partners/add", {"name": "Riverside Homes", "sector": "housing",
                                                        "website": "https://riverside.example"},
                                token_from=f"{BASE}/partners/add")
    assert response.status_code == 303
    partner = session.scalar(select(Partner).where(Partner.name == "Riverside Homes"))
    assert partner is not None and response.headers["location"] == f"{BASE}/partners/{partner.id}"
    page = client.get(response.headers["location"]).text
    assert "Riverside Homes added" in page and "Housing" in page
    response = client.post_form(f"{BASE}/services/add", {
        "partner": str(partner.id), "name": "Tenancy sustainment", "description": "Keeps people housed",
        "status": "active", "email": "", "url": ""}, token_from=f"{BASE}/services/add?partner={partner.id}")
    assert response.status_code == 303
    assert "Tenancy sustainment" in client.get(f"{BASE}/services").text
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"partner.added", "service.added"} <= actions


def test_a_partner_name_that_exists_gets_the_error_pattern_and_saves_nothing(
        client: PageClient, session: Session) -> None:
    _signed_in(client, session, Role.LEAD)
    before = _count(session, Partner)
    response = client.post_form(f"{BASE}/partners/add", {"name": "testville council", "sector": "housing"},
                                token_from=f"{BASE}/partners/add")
    assert response.status_code == 400
    _error_pattern(response.text, "name", "Testville already has a partner called Testville Council")
    assert 'value="testville council"' in response.text
    assert _count(session, Partner) == before


def test_a_service_without_a_partner_gets_the_error_pattern_and_saves_nothing(
        client: PageClient, session: Session) -> None:
    _signed_in(client, session, Role.LEAD)
    before = _count(session, Service)
    response = client.post_form(f"{BASE}/services/add",
                                {"partner": "", "name": "Outreach", "status": "active"},
                                token_from=f"{BASE}/services/add")
    assert response.status_code == 400
    _error_pattern(response.text, "partner", "Choose the partner of Testville that provides the service")
    assert _count(session, Service) == before


def test_a_service_with_another_places_partner_is_refused(client: PageClient, session: Session) -> None:
    _signed_in(client, session, Role.LEAD)
    elsewhere = make_place(session, slug="elsewhere", name="Elsewhere")
    foreign = partner_named(elsewhere, "Testville Council")
    session.commit()
    before = (_count(session, Service), _count(session, Service, Service.place_id == elsewhere.id))
    response = client.post_form(f"{BASE}/services/add", {
        "partner": str(foreign.id), "name": "Smuggled", "status": "active"},
        token_from=f"{BASE}/services/add")
    assert response.status_code == 400
    _error_pattern(response.text, "partner", "Choose the partner of Testville that provides the service")
    assert (_count(session, Service), _count(session, Service, Service.place_id == elsewhere.id)) == before
    # Nor can another place's partner or service be read or changed by its id.
    assert client.get(f"{BASE}/partners/{foreign.id}").status_code == 404
    assert client.post_form(f"{BASE}/partners/{foreign.id}/retire", {"confirm": "yes"},
                            token_from=f"{BASE}/partners").status_code == 404
    foreign_service = elsewhere.services[0]
    assert client.get(f"{BASE}/services/{foreign_service.id}/edit").status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PARTNER, Role.ANALYST])
def test_others_cannot_change_the_registry(client: PageClient, session: Session, role: Role) -> None:
    place = _signed_in(client, session, role)
    council = partner_named(place, "Testville Council")
    service_id = council.services[0].id
    page = client.get(f"{BASE}/partners").text
    assert "Testville Council" in page and "Add a partner" not in page
    assert "Change" not in client.get(f"{BASE}/partners/{council.id}").text
    for path in ("/partners/add", "/services/add", f"/partners/{council.id}/edit", "/partners/import",
                 f"/partners/{council.id}/retire", f"/partners/{council.id}/delete", "/partners/export.csv",
                 "/services/export.csv", f"/services/{service_id}/edit", f"/services/{service_id}/retire"):
        assert client.get(BASE + path).status_code == 403, path
    token = client.csrf(f"{BASE}/partners")
    posts = {"/partners/add": {"name": "X", "sector": "housing"},
             f"/partners/{council.id}/retire": {"confirm": "yes"},
             f"/partners/{council.id}/delete": {"confirm": "yes"},
             f"/partners/{council.id}/reinstate": {},
             f"/services/{service_id}/retire": {"confirm": "yes"}}
    for path, data in posts.items():
        response = client.post(BASE + path, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 403, path
    assert _count(session, Partner, Partner.retired_at.is_not(None)) == 0


def test_retiring_keeps_the_partner_and_hides_it_from_new_services(client: PageClient,
                                                                   session: Session) -> None:
    place = _signed_in(client, session, Role.LEAD)
    police = partner_named(place, "Testville Police")
    page = client.get(f"{BASE}/partners/{police.id}/retire").text
    assert "Are you sure you want to retire Testville Police?" in page
    response = client.post_form(f"{BASE}/partners/{police.id}/retire", {},
                                token_from=f"{BASE}/partners/{police.id}/retire")
    assert response.status_code == 400
    _error_pattern(response.text, "confirm", "Select yes if you want to retire Testville Police")
    response = client.post_form(f"{BASE}/partners/{police.id}/retire", {"confirm": "yes"},
                                token_from=f"{BASE}/partners/{police.id}/retire")
    assert response.status_code == 303
    listing = client.get(f"{BASE}/partners").text
    assert "Testville Police" in listing and "Retired" in listing
    assert f'value="{police.id}"' not in client.get(f"{BASE}/services/add").text
    # Posting its id anyway is refused too.
    response = client.post_form(f"{BASE}/services/add",
                                {"partner": str(police.id), "name": "Custody", "status": "active"},
                                token_from=f"{BASE}/services/add")
    assert response.status_code == 400 and "Testville Police is retired" in response.text
    response = client.post_form(f"{BASE}/partners/{police.id}/reinstate", {},
                                token_from=f"{BASE}/partners/{police.id}")
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Partner, police.id).retired_at is None


def test_a_partner_with_history_cannot_be_deleted(client: PageClient, session: Session) -> None:
    place = _signed_in(client, session, Role.ADMIN)
    trust = partner_named(place, "Testville NHS Trust")
    member = make_user(session, place, Role.PARTNER)
    session.get(Membership, member.memberships[0].id).partner_id = trust.id
    session.commit()
    page = client.get(f"{BASE}/partners/{trust.id}/delete").text
    assert "Testville NHS Trust cannot be deleted" in page and "1 user" in page
    response = client.post_form(f"{BASE}/partners/{trust.id}/delete", {"confirm": "yes"},
                                token_from=f"{BASE}/partners/{trust.id}")
    assert response.status_code == 400
    assert _count(session, Partner, Partner.id == trust.id) == 1


def test_a_partner_added_by_mistake_is_deleted_after_confirmation(client: PageClient,
                                                                  session: Session) -> None:
    _signed_in(client, session, Role.LEAD)
    token_page = f"{BASE}/partners/add"
    client.post_form(f"{BASE}/partners/add", {"name": "Typo Trust", "sector": "NHS"}, token_from=token_page)
    typo = session.scalar(select(Partner).where(Partner.name == "Typo Trust"))
    assert typo is not None
    page = client.get(f"{BASE}/partners/{typo.id}/delete").text
    assert "Are you sure you want to delete Typo Trust?" in page
    response = client.post_form(f"{BASE}/partners/{typo.id}/delete", {"confirm": "yes"},
                                token_from=token_page)
    assert response.status_code == 303
    assert _count(session, Partner, Partner.name == "Typo Trust") == 0
    assert _count(session, AuditEvent, AuditEvent.action == "partner.deleted") == 1


def test_renaming_a_partner_with_insight_sources_is_refused_on_the_field(
        client: PageClient, session: Session, settings: Settings) -> None:
    place = _signed_in(client, session, Role.LEAD)
    council = partner_named(place, "Testville Council")
    with open_store(settings.insight_dir, "testville") as con:
        con.execute("INSERT INTO sources (name, partner, service) VALUES ('housing', 'Testville Council', "
                    "'Housing Options')")
    response = client.post_form(f"{BASE}/partners/{council.id}/edit", {
        "name": "Testville Borough Council", "sector": "local government", "website": ""},
        token_from=f"{BASE}/partners/{council.id}/edit")
    assert response.status_code == 400
    _error_pattern(response.text, "name", "insight sources are filed under Testville Council")
    session.expire_all()
    assert session.get(Partner, council.id).name == "Testville Council"


def test_a_service_is_changed_and_retired(client: PageClient, session: Session) -> None:
    place = _signed_in(client, session, Role.LEAD)
    service = next(s for s in place.services if s.name == "Emergency Department")
    url = f"{BASE}/services/{service.id}"
    response = client.post_form(url + "/edit", {"name": "Emergency Department", "description": "A and E",
                                                "status": "temporarily closed", "email": "bad", "url": ""},
                                token_from=url + "/edit")
    assert response.status_code == 400
    _error_pattern(response.text, "email", "Enter an email address in the correct format")
    response = client.post_form(url + "/edit", {"name": "Emergency Department", "description": "A and E",
                                                "status": "temporarily closed", "email": "", "url": ""},
                                token_from=url + "/edit")
    assert response.status_code == 303
    response = client.post_form(url + "/retire", {"confirm": "yes"}, token_from=url + "/retire")
    assert response.status_code == 303
    session.expire_all()
    saved = session.get(Service, service.id)
    assert saved.status == "temporarily closed" and saved.retired_at is not None
    assert "Retired" in client.get(f"{BASE}/services").text


def _upload(client: PageClient, text: str) -> Any:
    token = client.csrf(f"{BASE}/partners/import")
    return client.post(f"{BASE}/partners/import", data={"csrf_token": token},
                       files={"file": ("partners.csv", text.encode(), "text/csv")}, follow_redirects=False)


def test_export_and_import_with_a_validation_report(client: PageClient, session: Session) -> None:
    _signed_in(client, session, Role.LEAD)
    exported = client.get(f"{BASE}/partners/export.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0] == "name,sector,website,retired"
    bad = "name,sector\nGood One,housing\nBad One,church\n"
    response = _upload(client, bad)
    assert response.status_code == 400
    _error_pattern(response.text, "file", "Nothing was imported: the file has 1 problem")
    assert "Choose the partner&#39;s sector" in response.text and ">3<" in response.text
    assert _count(session, Partner, Partner.name == "Good One") == 0
    good = exported.text + '"Good One","voluntary and community",""\r\n'
    response = _upload(client, good)
    assert response.status_code == 303
    assert "1 added, 0 changed, 3 unchanged" in client.get(response.headers["location"]).text


# ---------------------------------------------------------------- a new place


def test_an_administrator_creates_a_place_and_becomes_its_administrator(
        client: PageClient, session: Session) -> None:
    _signed_in(client, session, Role.ADMIN)
    assert 'href="/places/new"' in client.get("/").text
    response = client.post_form("/places/new", {"name": "Riverton", "slug": "", "adult_population": "90,000",
                                                "description": "A river town"}, token_from="/places/new")
    assert response.status_code == 303 and response.headers["location"] == "/places/riverton/partners"
    assert "Riverton is set up" in client.get("/places/riverton/partners").text
    assert client.get("/places/riverton/settings").status_code == 200  # an administrator's page
    assert _count(session, AuditEvent, AuditEvent.action == "place.created") == 1


def test_a_place_with_a_taken_short_name_gets_the_error_pattern(client: PageClient, session: Session) -> None:
    _signed_in(client, session, Role.ADMIN)
    response = client.post_form("/places/new", {"name": "Testville", "slug": ""}, token_from="/places/new")
    assert response.status_code == 400
    _error_pattern(response.text, "slug", "A place called &#39;testville&#39; already exists")
    assert _count(session, Place) == 1


@pytest.mark.parametrize("role", [Role.LEAD, Role.ANALYST, Role.PARTNER, Role.VIEWER, None])
def test_only_administrators_create_places(client: PageClient, session: Session, role: Role | None) -> None:
    place = make_place(session)
    user = make_user(session, place if role else None, role)
    session.commit()
    client.sign_in(user.email)
    assert 'href="/places/new"' not in client.get("/").text
    assert client.get("/places/new").status_code == 403
    response = client.post_form("/places/new", {"name": "Sneaky"}, token_from="/account")
    assert response.status_code == 403
    assert _count(session, Place) == 1


def test_a_retired_partner_is_not_offered_for_a_charter_but_stays_on_one_it_is_in(
        client: PageClient, session: Session) -> None:
    from joinedup.collaborations.models import CharterPartner, Collaboration

    place = _signed_in(client, session, Role.LEAD)
    police, council = partner_named(place, "Testville Police"), partner_named(place, "Testville Council")
    with_police = Collaboration(place=place, slug="safer", name="Safer streets")
    with_police.partners.append(CharterPartner(partner=police, offers="Patrols"))
    session.add_all([with_police, Collaboration(place=place, slug="fresh", name="Fresh start")])
    session.commit()
    url = f"{BASE}/partners/{police.id}/retire"
    assert client.post_form(url, {"confirm": "yes"}, token_from=url).status_code == 303
    fresh = client.get(f"{BASE}/collaborations/fresh/edit/partners").text
    assert "Testville Council is taking part" in fresh and "Testville Police" not in fresh
    safer = f"{BASE}/collaborations/safer"
    page = client.get(safer + "/edit/partners").text
    assert "Testville Police is taking part" in page
    response = client.post_form(safer + "/edit/partners", {
        f"partners-{police.id}-included": "yes", f"partners-{police.id}-offers": "Patrols",
        f"partners-{council.id}-included": "yes", f"partners-{council.id}-offers": "CCTV"}, token_from=safer)
    assert response.status_code == 303
    session.expire_all()
    kept = session.scalars(select(CharterPartner.partner_id)
                           .where(CharterPartner.collaboration_id == with_police.id)).all()
    assert set(kept) == {police.id, council.id}


def test_a_busy_insight_store_refuses_a_rename_instead_of_failing(
        client: PageClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from joinedup.insight import store

    place = _signed_in(client, session, Role.LEAD)
    council = partner_named(place, "Testville Council")
    with open_store(settings.insight_dir, "testville"):
        pass

    def busy(*_args: object, **_kwargs: object) -> None:
        raise duckdb.IOException("Could not set lock on file")

    monkeypatch.setattr(store, "connect", busy)
    url = f"{BASE}/partners/{council.id}"
    response = client.post_form(url + "/edit", {"name": "Testville Borough Council",
                                                "sector": "local government"}, token_from=url + "/edit")
    assert response.status_code == 400
    _error_pattern(response.text, "name", "The insight store is busy")
    response = client.get(url + "/delete")
    assert response.status_code == 503 and 'href="#confirm"' in response.text
    session.expire_all()
    assert session.get(Partner, council.id).name == "Testville Council"
