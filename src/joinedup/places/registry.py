"""A place sets itself up: creating places, and adding, changing, retiring and deleting its
partners and services. The web app and the command line both come here.

Rules:

- Every bad input is a ``PlaceError(message, field)`` raised before anything is changed, so
  nothing is half-saved; every change is audited in the caller's transaction.
- A partner name is unique in its place whatever its case ("Northbrook council" is
  "Northbrook Council").
- A partner with history (a charter, a pooled resource, a survey answer naming it, a user
  belonging to it, or an insight source filed under its name) is retired, never deleted.
  A retired partner is hidden from new choices and kept wherever history shows it.
- The insight store files sources under the partner's and the service's *names* (strings in
  DuckDB). Renaming a partner or service that has sources would silently cut them off, so it
  is refused with a message that says why and what to do instead.
- Who may create a place: an administrator of any place (the first place of an installation
  is created with ``joinedup places create``). A place is a tenant with its own people and
  special-category data; letting any signed-in partner user start one would let anyone make
  themselves an administrator of a data store nobody governs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.db.base import utcnow
from joinedup.places import service as places
from joinedup.places.models import (
    Membership,
    Partner,
    Place,
    Sector,
    Service,
    ServiceStatus,
    User,
)
from joinedup.places.roles import Role
from joinedup.places.service import PlaceError
from joinedup.places.users import set_role

__all__ = [
    "RESERVED_SLUGS", "By", "PartnerLinks", "PlaceError", "StoreSources", "active_partners",
    "add_partner", "add_service", "create_place_for", "delete_partner", "edit_partner",
    "edit_service", "find_partner", "find_service", "may_create_place", "partner_links",
    "partners_to_choose", "reinstate_partner", "reinstate_service", "retire_partner",
    "retire_service", "store_sources",
]  # fmt: skip

# Words used in the web app's own addresses under /places/.
RESERVED_SLUGS = frozenset({"new"})
MAX_NAME = 200
MAX_URL = 300
MAX_EMAIL = 200
MAX_DESCRIPTION = 2000


@dataclass(frozen=True)
class By:
    """Who makes a change, for the audit log: an account in the web app, or the command line."""

    user: User | None = None
    ip: str = ""

    def record(self, session: Session, action: str, place: Place, subject: str,
               detail: dict[str, Any] | None = None) -> None:
        audit.record(
            session, action, actor_id=self.user.id if self.user else None,
            actor_label=self.user.email if self.user else audit.COMMAND_LINE, place_id=place.id,
            subject=subject, detail=detail or {}, ip=self.ip,
        )  # fmt: skip


COMMAND_LINE = By()


# ---------------------------------------------------------------- places


def may_create_place(session: Session, user: User) -> bool:
    """Administrators of any place may create another (see the module's docstring)."""
    found = session.scalar(select(func.count(Membership.id)).where(
        Membership.user_id == user.id, Membership.role == Role.ADMIN.value))
    return bool(found)


def create_place_for(
    session: Session, user: User, *, name: str, slug: str = "", adult_population: str = "",
    description: str = "", ip: str = "",
) -> Place:
    """A new place with ``user`` as its administrator. ``adult_population`` is the text typed."""
    population: int | None = None
    typed = adult_population.replace(",", "").strip()
    if typed:
        if not typed.isdigit():
            raise PlaceError("Adult population must be a whole number greater than 0",
                             "adult_population")
        population = int(typed)
    if slug.strip() in RESERVED_SLUGS:
        raise PlaceError(f"Short name '{slug.strip()}' is used by joinedup itself: choose another",
                         "slug")
    if len(name.strip()) > MAX_NAME:
        raise PlaceError(f"The place's name must be {MAX_NAME} characters or fewer", "name")
    place = places.create_place(session, name=name, slug=slug.strip() or None,
                                adult_population=population, description=description.strip())
    set_role(session, user, place, Role.ADMIN, actor=user)
    By(user, ip).record(session, "place.created", place, place.slug, {"name": place.name})
    return place


# ---------------------------------------------------------------- what links to a partner


@dataclass(frozen=True)
class StoreSources:
    """The insight store's sources by the (partner, service) names they are filed under."""

    by_names: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def of_partner(self, name: str) -> tuple[str, ...]:
        return tuple(s for (p, _), names in self.by_names.items() if p == name for s in names)

    def of_service(self, partner: str, service: str) -> tuple[str, ...]:
        return self.by_names.get((partner, service), ())


def store_sources(insight_dir: Path, place_slug: str) -> StoreSources:
    """Read the place's insight store, if it has one (a place without one is not given one).

    A store another process holds (a linkage run on the command line) cannot be read; then
    nothing that depends on it is decided, and the caller says to try again."""
    import duckdb

    from joinedup.insight.store import insight_path, open_store

    if not insight_path(insight_dir, place_slug).exists():
        return StoreSources()
    try:
        with open_store(insight_dir, place_slug) as con:
            rows = con.execute("SELECT partner, service, name FROM sources ORDER BY name").fetchall()
    except duckdb.Error as exc:
        raise PlaceError("The insight store is busy (an upload or linkage run may be using it), so "
                         "its sources cannot be checked: try again in a few minutes", "name") from exc
    found: dict[tuple[str, str], list[str]] = {}
    for partner, service_, name in rows:
        found.setdefault((str(partner), str(service_)), []).append(str(name))
    return StoreSources({k: tuple(v) for k, v in found.items()})


@dataclass(frozen=True)
class PartnerLinks:
    """What records a partner's history; any of it means retire, never delete."""

    charters: int = 0
    pooled_resources: int = 0
    survey_answers: int = 0
    memberships: int = 0
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.charters or self.pooled_resources or self.survey_answers
                    or self.memberships or self.sources)

    def described(self) -> list[str]:
        parts = [(self.charters, "collaboration charter"), (self.pooled_resources, "pooled resource"),
                 (self.survey_answers, "survey answer"), (self.memberships, "user"),
                 (len(self.sources), "insight source")]
        return [f"{n} {what}{'' if n == 1 else 's'}" for n, what in parts if n]


def _survey_answers_naming(session: Session, partner: Partner) -> int:
    from joinedup.surveys.models import SurveyAnswer, SurveyResponse, SurveyRound
    from joinedup.surveys.rounds import instrument_of

    count = 0
    for round_ in session.scalars(select(SurveyRound).where(SurveyRound.place_id == partner.place_id)):
        keys = [q.key for q in instrument_of(round_).questions if q.options_from == "partners"]
        if not keys:
            continue
        count += session.scalar(
            select(func.count(SurveyAnswer.id))
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(SurveyResponse.round_id == round_.id, SurveyAnswer.question_key.in_(keys),
                   SurveyAnswer.value == str(partner.id))
        ) or 0
    return count


def partner_links(session: Session, partner: Partner, sources: StoreSources) -> PartnerLinks:
    from joinedup.collaborations.models import CharterPartner, PooledResource

    def count(model: Any, column: Any) -> int:
        return int(session.scalar(select(func.count(model.id)).where(column == partner.id)) or 0)

    return PartnerLinks(
        charters=count(CharterPartner, CharterPartner.partner_id),
        pooled_resources=count(PooledResource, PooledResource.partner_id),
        survey_answers=_survey_answers_naming(session, partner),
        memberships=count(Membership, Membership.partner_id),
        sources=sources.of_partner(partner.name),
    )


# ---------------------------------------------------------------- finding and choosing


def find_partner(session: Session, place: Place, partner_id: int | str | None) -> Partner | None:
    """The place's partner with this id; None for another place's partner or no partner."""
    try:
        wanted = int(str(partner_id))
    except ValueError:
        return None
    partner = session.get(Partner, wanted)
    return partner if partner is not None and partner.place_id == place.id else None


def find_service(session: Session, place: Place, service_id: int | str | None) -> Service | None:
    try:
        wanted = int(str(service_id))
    except ValueError:
        return None
    found = session.get(Service, wanted)
    return found if found is not None and found.place_id == place.id else None


def active_partners(place: Place) -> list[Partner]:
    """The partners to offer for anything new (a charter, a mapping, a survey answer)."""
    return [p for p in place.partners if p.retired_at is None]


def partners_to_choose(place: Place, keep: Iterable[int] = ()) -> list[Partner]:
    """Active partners, and the retired ones already chosen (``keep``), so that editing a
    charter that names a retired partner does not drop it."""
    kept = set(keep)
    return [p for p in place.partners if p.retired_at is None or p.id in kept]


# ---------------------------------------------------------------- partners


def _name(value: str, what: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise PlaceError(f"Enter the {what}'s name", "name")
    if len(name) > MAX_NAME:
        raise PlaceError(f"The {what}'s name must be {MAX_NAME} characters or fewer", "name")
    return name


def _sector(value: str) -> Sector:
    typed = value.strip().casefold()
    for sector in Sector:
        if typed in (sector.value.casefold(), sector.name.casefold()):
            return sector
    raise PlaceError("Choose the partner's sector from the list: "
                     + ", ".join(s.value for s in Sector), "sector")


def _url(value: str, fieldname: str, what: str) -> str:
    url = value.strip()
    if not url:
        return ""
    if not url.lower().startswith(("https://", "http://")) or " " in url or len(url) > MAX_URL:
        raise PlaceError(f"Enter the {what} as a full web address starting https://, "
                         f"in {MAX_URL} characters or fewer", fieldname)
    return url


def _check_partner_name(session: Session, place: Place, name: str, partner: Partner | None) -> None:
    clash = session.scalar(select(Partner).where(
        Partner.place_id == place.id, func.lower(Partner.name) == name.lower()))
    if clash is not None and clash is not partner:
        retired = " (retired: reinstate it instead)" if clash.retired_at else ""
        raise PlaceError(f"{place.name} already has a partner called {clash.name}{retired}", "name")


def add_partner(session: Session, place: Place, *, name: str, sector: str, website: str = "",
                by: By = COMMAND_LINE) -> Partner:
    name = _name(name, "partner")
    _check_partner_name(session, place, name, None)
    sector_ = _sector(sector)
    website = _url(website, "website", "website")
    partner = places.add_partner(session, place, name=name, sector=sector_, website=website)
    by.record(session, "partner.added", place, partner.name,
              {"sector": partner.sector, "website": website, "colour_slot": partner.colour_slot})
    return partner


def _refuse_rename(what: str, old: str, sources: tuple[str, ...]) -> None:
    shown = ", ".join(sources[:3]) + (f" and {len(sources) - 3} more" if len(sources) > 3 else "")
    raise PlaceError(
        f"The name cannot change while insight sources are filed under {old} ({shown}): their "
        f"figures would lose the {what}. Keep the name, or retire this {what} and add it again "
        "under its new name for new extracts", "name")


def edit_partner(session: Session, partner: Partner, *, name: str, sector: str, website: str = "",
                 sources: StoreSources | None = None, by: By = COMMAND_LINE) -> dict[str, Any]:
    """Change a partner; returns what changed (empty when nothing did)."""
    place = partner.place
    name = _name(name, "partner")
    _check_partner_name(session, place, name, partner)
    sector_ = _sector(sector)
    website = _url(website, "website", "website")
    if name != partner.name:
        filed = (sources or StoreSources()).of_partner(partner.name)
        if filed:
            _refuse_rename("partner", partner.name, filed)
    changes = {k: {"from": old, "to": new} for k, old, new in (
        ("name", partner.name, name), ("sector", partner.sector, sector_.value),
        ("website", partner.website, website)) if old != new}
    if changes:
        subject = partner.name
        partner.name, partner.sector, partner.website = name, sector_.value, website
        session.flush()
        by.record(session, "partner.changed", place, subject, changes)
    return changes


def retire_partner(session: Session, partner: Partner, *, by: By = COMMAND_LINE) -> None:
    if partner.retired_at is not None:
        raise PlaceError(f"{partner.name} is already retired", "partner")
    partner.retired_at = utcnow()
    session.flush()
    by.record(session, "partner.retired", partner.place, partner.name)


def reinstate_partner(session: Session, partner: Partner, *, by: By = COMMAND_LINE) -> None:
    if partner.retired_at is None:
        raise PlaceError(f"{partner.name} is not retired", "partner")
    partner.retired_at = None
    session.flush()
    by.record(session, "partner.reinstated", partner.place, partner.name)


def delete_partner(session: Session, partner: Partner, sources: StoreSources, *,
                   by: By = COMMAND_LINE) -> None:
    """Delete a partner with no history, and its services; one with history is retired instead."""
    links = partner_links(session, partner, sources)
    if links:
        raise PlaceError(f"{partner.name} cannot be deleted: it has {', '.join(links.described())}. "
                         "Retire it instead", "partner")
    place, name = partner.place, partner.name
    services = [s.name for s in partner.services]
    for s in list(partner.services):
        session.delete(s)
    session.delete(partner)
    session.flush()
    session.expire(place, ["partners", "services"])
    by.record(session, "partner.deleted", place, name, {"services": services})


# ---------------------------------------------------------------- services


def _status(value: str) -> ServiceStatus:
    typed = " ".join(value.strip().casefold().replace("_", " ").split()) or ServiceStatus.ACTIVE.value
    try:
        return ServiceStatus(typed)
    except ValueError:
        raise PlaceError("Choose the service's status: " + ", ".join(s.value for s in ServiceStatus),
                         "status") from None


def _email(value: str) -> str:
    email = value.strip()
    if not email:
        return ""
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or " " in email or len(email) > MAX_EMAIL:
        raise PlaceError("Enter an email address in the correct format, like name@example.org",
                         "email")
    return email


def _description(value: str) -> str:
    text = value.strip()
    if len(text) > MAX_DESCRIPTION:
        raise PlaceError(f"The description must be {MAX_DESCRIPTION} characters or fewer",
                         "description")
    return text


def _service_partner(place: Place, partner: Partner | None) -> Partner:
    if partner is None or partner.place_id != place.id:
        raise PlaceError(f"Choose the partner of {place.name} that provides the service", "partner")
    if partner.retired_at is not None:
        raise PlaceError(f"{partner.name} is retired: reinstate it before adding services to it",
                         "partner")
    return partner


def _check_service_name(partner: Partner, name: str, service_: Service | None) -> None:
    clash = next((s for s in partner.services if s.name.lower() == name.lower()), None)
    if clash is not None and clash is not service_:
        raise PlaceError(f"{partner.name} already has a service called {clash.name}", "name")


def add_service(session: Session, place: Place, partner: Partner | None, *, name: str,
                description: str = "", status: str = "active", email: str = "", url: str = "",
                by: By = COMMAND_LINE) -> Service:
    """Add a service under one of the place's partners. ``partner`` is None when the form named
    no partner, or one of another place (find_partner returns None for it)."""
    partner = _service_partner(place, partner)
    name = _name(name, "service")
    _check_service_name(partner, name, None)
    status_ = _status(status)
    email, url, description = _email(email), _url(url, "url", "service's web page"), _description(description)
    created = places.add_service(session, partner, name=name, description=description,
                                 status=status_.value)
    created.email, created.url = email, url
    session.flush()
    session.expire(place, ["services"])
    by.record(session, "service.added", place, f"{partner.name}: {name}",
              {"status": status_.value})
    return created


def edit_service(session: Session, service_: Service, *, name: str, description: str = "",
                 status: str = "active", email: str = "", url: str = "",
                 sources: StoreSources | None = None, by: By = COMMAND_LINE) -> dict[str, Any]:
    partner = service_.partner
    name = _name(name, "service")
    _check_service_name(partner, name, service_)
    status_ = _status(status)
    email, url, description = _email(email), _url(url, "url", "service's web page"), _description(description)
    if name != service_.name:
        filed = (sources or StoreSources()).of_service(partner.name, service_.name)
        if filed:
            _refuse_rename("service", service_.name, filed)
    changes = {k: {"from": old, "to": new} for k, old, new in (
        ("name", service_.name, name), ("description", service_.description, description),
        ("status", service_.status, status_.value), ("email", service_.email, email),
        ("url", service_.url, url)) if old != new}
    if changes:
        subject = f"{partner.name}: {service_.name}"
        service_.name, service_.description, service_.status = name, description, status_.value
        service_.email, service_.url = email, url
        session.flush()
        by.record(session, "service.changed", service_.place, subject, changes)
    return changes


def retire_service(session: Session, service_: Service, *, by: By = COMMAND_LINE) -> None:
    if service_.retired_at is not None:
        raise PlaceError(f"{service_.name} is already retired", "service")
    service_.retired_at = utcnow()
    session.flush()
    by.record(session, "service.retired", service_.place, f"{service_.partner.name}: {service_.name}")


def reinstate_service(session: Session, service_: Service, *, by: By = COMMAND_LINE) -> None:
    if service_.retired_at is None:
        raise PlaceError(f"{service_.name} is not retired", "service")
    if service_.partner.retired_at is not None:
        raise PlaceError(f"{service_.partner.name} is retired: reinstate it first", "service")
    service_.retired_at = None
    session.flush()
    by.record(session, "service.reinstated", service_.place,
              f"{service_.partner.name}: {service_.name}")
