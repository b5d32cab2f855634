"""The partner and service registry: adding, changing, retiring, deleting, importing, and the
bad input of issue 8 (a name that exists, a service without a partner or with another place's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.audit import AuditEvent
from joinedup.collaborations.models import CharterPartner, Collaboration
from joinedup.config import Settings
from joinedup.insight.store import open_store
from joinedup.places import registry, registry_csv
from joinedup.places.models import Membership, Partner, Service
from joinedup.places.registry import By, PlaceError, StoreSources
from joinedup.places.roles import Role
from tests.support.factories import make_place, make_user, partner_named


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_adding_a_partner_and_a_service_is_audited(session: Session) -> None:
    place = make_place(session)
    lead = make_user(session, place, Role.LEAD)
    partner = registry.add_partner(session, place, name="  Northbrook  Homes ", sector="housing",
                                   website="https://homes.example", by=By(lead))
    service = registry.add_service(session, place, partner, name="Tenancy sustainment",
                                   description="Keeps tenancies going", status="temporarily closed",
                                   email="help@homes.example", by=By(lead))
    assert (partner.name, partner.sector) == ("Northbrook Homes", "housing")
    assert (service.status, service.partner_id) == ("temporarily closed", partner.id)
    assert service.place_id == place.id
    events = session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["partner.added", "service.added"]))).all()
    assert [(e.action, e.actor_label, e.subject) for e in events] == [
        ("partner.added", lead.email, "Northbrook Homes"),
        ("service.added", lead.email, "Northbrook Homes: Tenancy sustainment")]


@pytest.mark.parametrize("name", ["Testville Council", "testville council", " TESTVILLE  COUNCIL "])
def test_a_partner_name_that_exists_is_refused_whatever_its_case(session: Session, name: str) -> None:
    place = make_place(session)
    before = _count(session, Partner)
    with pytest.raises(PlaceError) as caught:
        registry.add_partner(session, place, name=name, sector="local government")
    assert caught.value.field == "name"
    assert "already has a partner called Testville Council" in str(caught.value)
    assert _count(session, Partner) == before


def test_renaming_onto_another_partner_is_refused(session: Session) -> None:
    place = make_place(session)
    police = partner_named(place, "Testville Police")
    with pytest.raises(PlaceError, match="already has a partner") as caught:
        registry.edit_partner(session, police, name="TESTVILLE NHS TRUST", sector="police and justice")
    assert caught.value.field == "name"
    # Changing only the case of its own name is allowed.
    assert registry.edit_partner(session, police, name="Testville police", sector="police and justice")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": "", "sector": "housing"}, "name"),
    ({"name": "X" * 201, "sector": "housing"}, "name"),
    ({"name": "New partner", "sector": "church"}, "sector"),
    ({"name": "New partner", "sector": "housing", "website": "homes.example"}, "website"),
])
def test_bad_partner_input_names_its_field_and_saves_nothing(session: Session, kwargs: dict[str, str],
                                                             field: str) -> None:
    place = make_place(session)
    before = (_count(session, Partner), _count(session, AuditEvent))
    with pytest.raises(PlaceError) as caught:
        registry.add_partner(session, place, **kwargs)
    assert caught.value.field == field
    assert (_count(session, Partner), _count(session, AuditEvent)) == before


def test_a_service_needs_a_partner_of_its_own_place(session: Session) -> None:
    place = make_place(session)
    other = make_place(session, slug="elsewhere", name="Elsewhere")
    foreign = partner_named(other, "Testville Council")
    before = _count(session, Service)
    for partner in (None, foreign, registry.find_partner(session, place, foreign.id)):
        with pytest.raises(PlaceError, match="Choose the partner of Testville") as caught:
            registry.add_service(session, place, partner, name="Outreach")
        assert caught.value.field == "partner"
    assert _count(session, Service) == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": ""}, "name"),
    ({"name": "housing options"}, "name"),  # the council already has Housing Options
    ({"name": "Outreach", "status": "open"}, "status"),
    ({"name": "Outreach", "email": "not an email"}, "email"),
    ({"name": "Outreach", "url": "javascript:alert(1)"}, "url"),
])
def test_bad_service_input_names_its_field(session: Session, kwargs: dict[str, str], field: str) -> None:
    place = make_place(session)
    before = _count(session, Service)
    with pytest.raises(PlaceError) as caught:
        registry.add_service(session, place, partner_named(place, "Testville Council"), **kwargs)
    assert caught.value.field == field
    assert _count(session, Service) == before


def test_a_retired_partner_is_hidden_from_choices_but_kept(session: Session) -> None:
    place = make_place(session)
    police = partner_named(place, "Testville Police")
    registry.retire_partner(session, police)
    assert police not in registry.active_partners(place) and police in place.partners
    assert police in registry.partners_to_choose(place, keep=[police.id])
    with pytest.raises(PlaceError, match="retired: reinstate it"):
        registry.add_partner(session, place, name="Testville police", sector="police and justice")
    with pytest.raises(PlaceError, match="is retired"):
        registry.add_service(session, place, police, name="Neighbourhood team")
    registry.reinstate_partner(session, police)
    assert police in registry.active_partners(place)
    assert _actions(session)[-2:] == ["partner.retired", "partner.reinstated"]


def test_a_partner_with_history_is_retired_never_deleted(session: Session) -> None:
    place = make_place(session)
    council, trust = partner_named(place, "Testville Council"), partner_named(place, "Testville NHS Trust")
    collab = Collaboration(place=place, slug="c", name="C")
    collab.partners.append(CharterPartner(partner=council, offers="staff"))
    session.add(collab)
    user = make_user(session, place, Role.PARTNER)
    session.flush()
    session.get(Membership, user.memberships[0].id).partner_id = trust.id
    session.flush()
    police = partner_named(place, "Testville Police")
    sources = StoreSources({("Testville Police", "Custody"): ("custody-2024",)})
    cases = ((council, "1 collaboration charter"), (trust, "1 user"), (police, "1 insight source"))
    for partner, why in cases:
        with pytest.raises(PlaceError, match=f"cannot be deleted: it has {why}"):
            registry.delete_partner(session, partner, sources)
    assert _count(session, Partner) == 3


def test_a_partner_without_history_is_deleted_with_its_services(session: Session) -> None:
    place = make_place(session)
    partner = registry.add_partner(session, place, name="Pop-up Project", sector="voluntary and community")
    registry.add_service(session, place, partner, name="Drop-in")
    registry.delete_partner(session, partner, StoreSources())
    assert session.scalar(select(Partner).where(Partner.name == "Pop-up Project")) is None
    assert session.scalar(select(Service).where(Service.name == "Drop-in")) is None
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "partner.deleted")).one()
    assert event.detail == {"services": ["Drop-in"]}


def test_survey_answers_naming_a_partner_keep_it(session: Session) -> None:
    from datetime import date

    from joinedup.surveys.models import SurveyAnswer, SurveyResponse
    from joinedup.surveys.rounds import create_round

    place = make_place(session)
    police = partner_named(place, "Testville Police")
    round_ = create_round(session, place, instrument_key="readiness", title="R", opens_on=date(2025, 1, 1),
                          closes_on=date(2025, 2, 1))
    response = SurveyResponse(round_id=round_.id, resume_key="k" * 20)
    response.answers.append(SurveyAnswer(question_key="partner", value=str(police.id)))
    session.add(response)
    session.flush()
    assert registry.partner_links(session, police, StoreSources()).survey_answers == 1
    with pytest.raises(PlaceError, match="1 survey answer"):
        registry.delete_partner(session, police, StoreSources())


def _store_with_source(settings: Settings, slug: str, partner: str, service: str) -> Path:
    with open_store(settings.insight_dir, slug) as con:
        con.execute("INSERT INTO sources (name, partner, service) VALUES ('housing-2024', ?, ?)",
                    [partner, service])
    return settings.insight_dir


def test_renaming_a_partner_with_insight_sources_is_refused(session: Session, settings: Settings) -> None:
    place = make_place(session)
    council = partner_named(place, "Testville Council")
    insight_dir = _store_with_source(settings, place.slug, "Testville Council", "Housing Options")
    sources = registry.store_sources(insight_dir, place.slug)
    assert sources.of_partner("Testville Council") == ("housing-2024",)
    with pytest.raises(PlaceError, match="insight sources are filed under Testville Council") as caught:
        registry.edit_partner(session, council, name="Testville Borough Council",
                              sector="local government", sources=sources)
    assert caught.value.field == "name" and council.name == "Testville Council"
    # Its other details may change.
    assert registry.edit_partner(session, council, name="Testville Council", sector="local government",
                                 website="https://council.example", sources=sources)
    housing = next(s for s in council.services if s.name == "Housing Options")
    with pytest.raises(PlaceError, match="filed under Housing Options"):
        registry.edit_service(session, housing, name="Housing advice", sources=sources)


def test_store_sources_does_not_create_a_store(settings: Settings) -> None:
    assert registry.store_sources(settings.insight_dir, "nowhere") == StoreSources()
    assert not (settings.insight_dir / "nowhere.duckdb").exists()


def test_a_retired_service_is_kept(session: Session) -> None:
    place = make_place(session)
    service = next(s for s in place.services if s.name == "Emergency Department")
    registry.retire_service(session, service)
    assert service.retired and service in place.services
    registry.reinstate_service(session, service)
    assert not service.retired
    assert _actions(session)[-2:] == ["service.retired", "service.reinstated"]


# ---------------------------------------------------------------- places


def test_only_administrators_may_create_places(session: Session) -> None:
    place = make_place(session)
    admin, lead = make_user(session, place, Role.ADMIN), make_user(session, place, Role.LEAD)
    nobody = make_user(session, None, None)
    assert registry.may_create_place(session, admin)
    assert not registry.may_create_place(session, lead) and not registry.may_create_place(session, nobody)
    created = registry.create_place_for(session, admin, name="Riverton", adult_population="90,000")
    assert (created.slug, created.adult_population) == ("riverton", 90_000)
    role = session.scalar(select(Membership.role).where(Membership.place_id == created.id))
    assert role == Role.ADMIN.value
    assert "place.created" in _actions(session)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": ""}, "name"),
    ({"name": "Testville"}, "slug"),  # the slug testville exists
    ({"name": "New", "slug": "new"}, "slug"),
    ({"name": "Riverton", "slug": "River Ton"}, "slug"),
    ({"name": "Riverton", "adult_population": "lots"}, "adult_population"),
])
def test_bad_place_input_names_its_field(session: Session, kwargs: dict[str, str], field: str) -> None:
    place = make_place(session)
    admin = make_user(session, place, Role.ADMIN)
    with pytest.raises(PlaceError) as caught:
        registry.create_place_for(session, admin, **kwargs)
    assert caught.value.field == field


# ---------------------------------------------------------------- CSV


def test_partners_and_services_export_and_import_unchanged(session: Session) -> None:
    place = make_place(session)
    registry.add_partner(session, place, name="=HYPERLINK(\"x\")", sector="business")
    partners, services = registry_csv.partners_csv(place), registry_csv.services_csv(place)
    assert "'=HYPERLINK" in partners
    other = make_place(session, slug="copy", name="Copy")
    registry.retire_partner(session, partner_named(other, "Testville Police"))
    result = registry_csv.import_partners(session, other, partners)
    assert result.added == ['=HYPERLINK("x")'] and result.unchanged == 3
    assert registry_csv.import_services(session, other, services).unchanged == 2


def test_import_adds_and_changes_by_name(session: Session) -> None:
    place = make_place(session)
    data = ("name,sector,website\n"
            "TESTVILLE COUNCIL,local government,https://council.example\n"
            "Riverside Trust,voluntary and community,\n")
    result = registry_csv.import_partners(session, place, data)
    assert result.added == ["Riverside Trust"] and result.changed == ["Testville Council"]
    assert partner_named(place, "Testville Council").website == "https://council.example"
    services = ("partner,name,description,status\n"
                "Riverside Trust,Food bank,Food parcels,active\n"
                "testville council,housing options,Advice,inactive\n")
    result = registry_csv.import_services(session, place, services)
    assert result.added == ["Food bank"] and result.changed == ["Housing Options"]
    assert "services.imported" in _actions(session)


def test_a_bad_row_imports_nothing_and_names_row_and_column(session: Session) -> None:
    place = make_place(session)
    session.commit()
    before = (_count(session, Partner), _count(session, AuditEvent))
    data = ("name,sector\n"
            "Good Partner,housing\n"
            "Bad Partner,church\n"
            "testville police,police and justice\n"
            ",housing\n"
            "good partner,housing\n")
    with pytest.raises(registry_csv.ImportRefused) as caught:
        registry_csv.import_partners(session, place, data)
    found = [(p.row, p.column) for p in caught.value.problems]
    assert found == [(3, "sector"), (5, "name"), (6, "name")]
    assert str(caught.value).startswith("Nothing was imported. Row 3, column sector:")
    assert (_count(session, Partner), _count(session, AuditEvent)) == before


def test_a_service_row_with_an_unknown_or_foreign_partner_imports_nothing(session: Session) -> None:
    place = make_place(session)
    elsewhere = make_place(session, slug="elsewhere", name="Elsewhere Borough")
    registry.add_partner(session, elsewhere, name="Elsewhere Only", sector="housing")
    session.commit()
    before = _count(session, Service)
    data = "partner,name\nTestville Council,Advice\nNobody,Outreach\nElsewhere Only,Drop-in\n"
    with pytest.raises(registry_csv.ImportRefused) as caught:
        registry_csv.import_services(session, place, data)
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "partner"), (4, "partner")]
    assert _count(session, Service) == before


@pytest.mark.parametrize(("data", "where"), [
    ("", (1, "")),
    ("name,colour\nA,housing\n", (1, "colour")),
    ("name\nA\n", (1, "sector")),
    (b"name,sector\n\xff\xfe,housing\n", (1, "")),
    ("name,sector\nA,housing,extra\n", (2, "")),
])
def test_a_malformed_file_is_refused(session: Session, data: str | bytes, where: tuple[int, str]) -> None:
    place = make_place(session)
    with pytest.raises(registry_csv.ImportRefused) as caught:
        registry_csv.import_partners(session, place, data)
    assert (caught.value.problems[0].row, caught.value.problems[0].column) == where
