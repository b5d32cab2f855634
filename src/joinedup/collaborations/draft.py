"""A charter as plain values (a :class:`Draft`), the words shown for its statuses and kinds,
and the error raised when a draft does not pass validation. No web imports here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Protocol

from joinedup.collaborations.models import Collaboration, ResourceKind, Status

Errors = dict[str, str]


class PartnerLike(Protocol):
    """A partner as the partners part needs it: an id and a name (a Partner will do)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


STATUS_LABELS: dict[Status, str] = {
    Status.FORMING: "Forming",
    Status.ACTIVE: "Active",
    Status.PAUSED: "Paused",
    Status.CLOSED: "Closed",
}
STATUS_HINTS: dict[Status, str] = {
    Status.FORMING: "Partners are still agreeing the charter",
    Status.ACTIVE: "Partners have signed up and are working to the charter",
    Status.PAUSED: "Work has stopped for now but the partners mean to restart it",
    Status.CLOSED: "The collaboration has finished",
}
# GOV.UK tag colours for each status
STATUS_COLOURS: dict[Status, str] = {
    Status.FORMING: "govuk-tag--blue",
    Status.ACTIVE: "govuk-tag--green",
    Status.PAUSED: "govuk-tag--yellow",
    Status.CLOSED: "govuk-tag--grey",
}
RESOURCE_LABELS: dict[ResourceKind, str] = {
    ResourceKind.MONEY: "Money",
    ResourceKind.STAFF: "Staff",
    ResourceKind.DATA: "Data",
    ResourceKind.BUILDINGS: "Buildings",
}


class CharterInvalid(ValueError):
    """A draft that does not pass validation; ``errors`` are keyed by form field."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class PartnerPart:
    partner_id: int
    partner: str  # the partner's name when the draft was made, for summaries and snapshots
    offers: str = ""
    gives_up: str = ""
    signed_by: str = ""
    signed_on: date | None = None


@dataclass(frozen=True)
class Measure:
    name: str
    baseline: str
    target: str
    check_on: date
    unit: str = ""


@dataclass(frozen=True)
class Risk:
    description: str
    how_held: str


@dataclass(frozen=True)
class Resource:
    kind: str
    description: str
    partner_id: int | None = None
    partner: str = ""
    amount_gbp: int | None = None


@dataclass(frozen=True)
class Draft:
    """The whole charter as values: what :func:`save` writes and a snapshot records."""

    name: str
    status: str = Status.FORMING.value
    problem: str = ""
    shared_goal: str = ""
    value_accounting: str = ""
    partners: tuple[PartnerPart, ...] = ()
    measures: tuple[Measure, ...] = ()
    risks: tuple[Risk, ...] = ()
    resources: tuple[Resource, ...] = ()

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy (dates as ISO strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def draft_of(collab: Collaboration) -> Draft:
    return Draft(
        name=collab.name,
        status=collab.status,
        problem=collab.problem,
        shared_goal=collab.shared_goal,
        value_accounting=collab.value_accounting,
        partners=tuple(
            PartnerPart(cp.partner_id, cp.partner.name, cp.offers, cp.gives_up, cp.signed_by,
                        cp.signed_on)
            for cp in sorted(collab.partners, key=lambda cp: cp.partner.name.lower())
        ),
        measures=tuple(Measure(m.name, m.baseline, m.target, m.check_on, m.unit)
                       for m in collab.measures),
        risks=tuple(Risk(r.description, r.how_held) for r in collab.risks),
        resources=tuple(
            Resource(r.kind, r.description, r.partner_id, r.partner.name if r.partner else "",
                     r.amount_gbp)
            for r in collab.resources
        ),
    )
