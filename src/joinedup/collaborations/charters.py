"""Collaborations and their charters: create, read a form part, validate, save, history.

A charter is edited one part at a time (the four questions, partners, outcome measures,
shared risks, pooled resources, status). The web layer hands a part's submitted form to
``read_<part>``, which returns a new :class:`Draft` of the whole charter and any errors keyed
by the form field they belong to; :func:`save` then writes the draft in the caller's single
transaction, appends an immutable :class:`CharterRevision` with a summary of what changed and
a full JSON snapshot, and records ``charter.changed`` in the audit log.

Form field names are part of this module's contract: ``problem``, ``partners-3-offers``,
``measures-0-check_on-day`` and so on (``<part>-<index>-<field>``; for partners the index is
the partner's id, so that a partner added meanwhile cannot shift anyone's answers), so that
an error can name, and link to, the field it is about. No web imports here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from joinedup import audit
from joinedup.collaborations.models import (
    CharterPartner,
    CharterRevision,
    Collaboration,
    OutcomeMeasure,
    PooledResource,
    ResourceKind,
    SharedRisk,
    Status,
)
from joinedup.db.base import utcnow
from joinedup.places.models import Place, User
from joinedup.places.service import slugify

Errors = dict[str, str]
Form = Mapping[str, str]


class PartnerLike(Protocol):
    """A partner as the partners part needs it: an id and a name (a Partner will do)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

MAX_NAME = 200
MAX_TEXT = 5000
MAX_SHORT = 100
MAX_MEASURE_NAME = 300
# Words the web pages use after /collaborations/, which a collaboration's slug must not be.
RESERVED_SLUGS = frozenset({"new"})

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


# -- the draft: a charter as plain values ----------------------------------------------------


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


# -- finding and creating ----------------------------------------------------------------------


def list_collaborations(session: Session, place: Place) -> list[Collaboration]:
    return list(session.scalars(
        select(Collaboration).where(Collaboration.place_id == place.id).order_by(Collaboration.name)
        .options(selectinload(Collaboration.partners))
    ))


def get_collaboration(session: Session, place: Place, slug: str) -> Collaboration | None:
    """The collaboration with its charter's parts loaded (not its revisions)."""
    return session.scalar(
        select(Collaboration)
        .where(Collaboration.place_id == place.id, Collaboration.slug == slug)
        .options(
            selectinload(Collaboration.partners).joinedload(CharterPartner.partner),
            selectinload(Collaboration.measures), selectinload(Collaboration.risks),
            selectinload(Collaboration.resources).joinedload(PooledResource.partner),
        )
    )


def latest_revision(session: Session, collab: Collaboration) -> CharterRevision | None:
    return session.scalar(
        select(CharterRevision).where(CharterRevision.collaboration_id == collab.id)
        .order_by(CharterRevision.number.desc()).limit(1)
    )


def validate_name(session: Session, place: Place, name: str, *, ignore_id: int | None = None) -> Errors:
    errors: Errors = {}
    name = name.strip()
    if not name:
        errors["name"] = "Enter the collaboration's name"
    elif len(name) > MAX_NAME:
        errors["name"] = f"Name must be {MAX_NAME} characters or fewer"
    else:
        stmt = select(Collaboration.id).where(
            Collaboration.place_id == place.id, func.lower(Collaboration.name) == name.lower()
        )
        if ignore_id is not None:
            stmt = stmt.where(Collaboration.id != ignore_id)
        if session.scalar(stmt) is not None:
            errors["name"] = "There is already a collaboration with this name in this place"
    return errors


def _unique_slug(session: Session, place: Place, name: str) -> str:
    base = slugify(name)[:70] or "collaboration"
    taken = set(session.scalars(
        select(Collaboration.slug).where(Collaboration.place_id == place.id,
                                         Collaboration.slug.startswith(base))
    ))
    taken |= RESERVED_SLUGS
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_collaboration(
    session: Session, place: Place, name: str, *, author: User | None, ip: str = ""
) -> Collaboration:
    """A new collaboration, forming, with revision 1. Raises CharterInvalid on a bad name."""
    errors = validate_name(session, place, name)
    if errors:
        raise CharterInvalid(errors)
    collab = Collaboration(place=place, slug=_unique_slug(session, place, name), name=name.strip(),
                           status=Status.FORMING.value)
    session.add(collab)
    session.flush()
    _append_revision(session, collab, draft_of(collab), ["Started the collaboration"],
                     author=author, ip=ip)
    return collab


# -- reading a submitted part -------------------------------------------------------------------


def _text(form: Form, key: str) -> str:
    return (form.get(key) or "").strip().replace("\r\n", "\n")


def _check_length(errors: Errors, key: str, value: str, limit: int, what: str) -> None:
    if len(value) > limit and key not in errors:
        errors[key] = f"{what} must be {limit:,} characters or fewer"


def read_date(form: Form, prefix: str, what: str, *, required: bool) -> tuple[date | None, str]:
    """A GOV.UK date input's three fields; returns the date or an error message."""
    day, month, year = (_text(form, f"{prefix}-{p}") for p in ("day", "month", "year"))
    if not (day or month or year):
        return None, (f"Enter {what}" if required else "")
    missing = [n for n, v in (("day", day), ("month", month), ("year", year)) if not v]
    if missing:
        return None, f"{what[0].upper()}{what[1:]} must include a {' and '.join(missing)}"
    try:
        d, m, y = int(day), int(month), int(year)
        if not 1900 <= y <= 2200:
            raise ValueError
        return date(y, m, d), ""
    except ValueError:
        return None, f"{what[0].upper()}{what[1:]} must be a real date"


def date_fields(value: date | None) -> dict[str, str]:
    """A date as the three strings a GOV.UK date input shows."""
    if value is None:
        return {"day": "", "month": "", "year": ""}
    return {"day": str(value.day), "month": str(value.month), "year": str(value.year)}


def read_questions(draft: Draft, form: Form) -> tuple[Draft, Errors]:
    """The four questions: the problem, the shared goal and how public value is accounted for.

    (The third question, what each partner offers and gives up, is the partners part.)
    """
    errors: Errors = {}
    problem, goal, value = (_text(form, k) for k in ("problem", "shared_goal", "value_accounting"))
    name = _text(form, "name")
    if not name:
        errors["name"] = "Enter the collaboration's name"
    _check_length(errors, "name", name, MAX_NAME, "Name")
    if not problem:
        errors["problem"] = "Enter the problem the collaboration tackles"
    if not goal:
        errors["shared_goal"] = "Enter the goal the partners share"
    if not value:
        errors["value_accounting"] = "Enter how the public value added will be accounted for"
    for key, val, what in (("problem", problem, "The problem"), ("shared_goal", goal, "The shared goal"),
                           ("value_accounting", value, "How public value is accounted for")):
        _check_length(errors, key, val, MAX_TEXT, what)
    return replace(draft, name=name, problem=problem, shared_goal=goal, value_accounting=value), errors


def read_partners(draft: Draft, form: Form, place_partners: Sequence[PartnerLike]) -> tuple[Draft, Errors]:
    """For each of the place's partners (in the order given): taking part, what it offers,
    what it gives up, who signed up for it and when. Fields are ``partners-<id>-...`` where
    id is the partner's id."""
    errors: Errors = {}
    chosen: list[PartnerPart] = []
    today = utcnow().date()
    for partner in place_partners:
        p = f"partners-{partner.id}"
        if form.get(f"{p}-included") != "yes":
            continue
        offers, gives_up, signed_by = (_text(form, f"{p}-{k}") for k in ("offers", "gives_up", "signed_by"))
        signed_on, date_error = read_date(form, f"{p}-signed_on", f"the date {partner.name} signed up",
                                          required=False)
        if not offers:
            errors[f"{p}-offers"] = f"Enter what {partner.name} offers"
        _check_length(errors, f"{p}-offers", offers, MAX_TEXT, "What the partner offers")
        _check_length(errors, f"{p}-gives_up", gives_up, MAX_TEXT, "What the partner gives up")
        _check_length(errors, f"{p}-signed_by", signed_by, MAX_NAME, "Who signed up")
        if date_error:
            errors[f"{p}-signed_on-day"] = date_error
        elif signed_on is not None and signed_on > today:
            errors[f"{p}-signed_on-day"] = f"The date {partner.name} signed up must be today or in the past"
        if signed_on is not None and not signed_by:
            errors[f"{p}-signed_by"] = f"Enter who signed up for {partner.name}"
        if signed_by and signed_on is None and not date_error:
            errors[f"{p}-signed_on-day"] = f"Enter the date {partner.name} signed up"
        chosen.append(PartnerPart(partner.id, partner.name, offers, gives_up, signed_by, signed_on))
    if draft.status in (Status.ACTIVE, Status.PAUSED) and len(chosen) < 2 and place_partners:
        errors.setdefault(f"partners-{place_partners[0].id}-included",
                          "Select at least 2 partners: an active or paused collaboration needs them")
    kept_ids = {c.partner_id for c in chosen}
    resources = draft.resources
    if any(r.partner_id is not None and r.partner_id not in kept_ids for r in resources):
        names = sorted({r.partner for r in resources if r.partner_id not in kept_ids and r.partner_id})
        first = next((pp.id for pp in place_partners if pp.name == names[0]), 0)
        errors.setdefault(f"partners-{first}-included",
                          f"{names[0]} pools a resource: change the pooled resources before removing it")
    chosen.sort(key=lambda c: c.partner.lower())
    return replace(draft, partners=tuple(chosen)), errors


def _removed(form: Form, prefix: str) -> bool:
    return form.get(f"{prefix}-remove") == "yes"


def _row_count(form: Form, part: str) -> int:
    pattern = re.compile(rf"^{part}-(\d+)-")
    indices = [int(m.group(1)) for k in form if (m := pattern.match(k))]
    return max(indices) + 1 if indices else 0


def read_measures(draft: Draft, form: Form) -> tuple[Draft, Errors]:
    """Outcome measures as rows ``measures-<i>-name|unit|baseline|target|check_on-*``.

    A row ticked ``-remove`` is dropped; a row left wholly blank is ignored (the empty row
    offered for adding another)."""
    errors: Errors = {}
    rows: list[Measure] = []
    for i in range(_row_count(form, "measures")):
        p = f"measures-{i}"
        if _removed(form, p):
            continue
        name, unit, baseline, target = (
            _text(form, f"{p}-{k}") for k in ("name", "unit", "baseline", "target")
        )
        day_month_year = [_text(form, f"{p}-check_on-{x}") for x in ("day", "month", "year")]
        if not any([name, unit, baseline, target, *day_month_year]):
            continue
        label = f"measure {i + 1}"
        if not name:
            errors[f"{p}-name"] = f"Enter the name of {label}"
        _check_length(errors, f"{p}-name", name, MAX_MEASURE_NAME, f"The name of {label}")
        _check_length(errors, f"{p}-unit", unit, MAX_SHORT, f"The unit of {label}")
        if not baseline:
            errors[f"{p}-baseline"] = f"Enter the baseline of {label}: where it stands now"
        _check_length(errors, f"{p}-baseline", baseline, MAX_SHORT, f"The baseline of {label}")
        if not target:
            errors[f"{p}-target"] = f"Enter the target for {label}"
        _check_length(errors, f"{p}-target", target, MAX_SHORT, f"The target for {label}")
        check_on, date_error = read_date(form, f"{p}-check_on", f"the date {label} will be checked",
                                         required=True)
        if date_error:
            errors[f"{p}-check_on-day"] = date_error
        rows.append(Measure(name, baseline, target, check_on or date.min, unit))
    if draft.status in (Status.ACTIVE, Status.PAUSED) and not rows:
        errors.setdefault("measures-0-name",
                          "Enter at least 1 outcome measure: an active or paused collaboration needs one")
    return replace(draft, measures=tuple(rows)), errors


def read_risks(draft: Draft, form: Form) -> tuple[Draft, Errors]:
    """Shared risks as rows ``risks-<i>-description|how_held``."""
    errors: Errors = {}
    rows: list[Risk] = []
    for i in range(_row_count(form, "risks")):
        p = f"risks-{i}"
        if _removed(form, p):
            continue
        description, how_held = _text(form, f"{p}-description"), _text(form, f"{p}-how_held")
        if not (description or how_held):
            continue
        if not description:
            errors[f"{p}-description"] = f"Enter what risk {i + 1} is"
        if not how_held:
            errors[f"{p}-how_held"] = f"Enter how the partners hold risk {i + 1} together"
        _check_length(errors, f"{p}-description", description, MAX_TEXT, f"Risk {i + 1}")
        _check_length(errors, f"{p}-how_held", how_held, MAX_TEXT, f"How risk {i + 1} is held")
        rows.append(Risk(description, how_held))
    return replace(draft, risks=tuple(rows)), errors


_AMOUNT_RE = re.compile(r"^£?\s*(\d{1,3}(,\d{3})+|\d+)(\.00?)?$")


def read_amount(raw: str) -> tuple[int | None, bool]:
    """Whole pounds, with or without a £ sign and commas; returns (amount, ok)."""
    raw = raw.strip()
    if not raw:
        return None, True
    if not _AMOUNT_RE.match(raw):
        return None, False
    return int(raw.lstrip("£").strip().split(".")[0].replace(",", "")), True


def read_resources(draft: Draft, form: Form) -> tuple[Draft, Errors]:
    """Pooled resources as rows ``resources-<i>-kind|description|partner_id|amount``.

    The partner, if given, must be one of the collaboration's partners."""
    errors: Errors = {}
    rows: list[Resource] = []
    names = {p.partner_id: p.partner for p in draft.partners}
    kinds = {k.value for k in ResourceKind}
    for i in range(_row_count(form, "resources")):
        p = f"resources-{i}"
        if _removed(form, p):
            continue
        kind, description = _text(form, f"{p}-kind"), _text(form, f"{p}-description")
        partner_raw, amount_raw = _text(form, f"{p}-partner_id"), _text(form, f"{p}-amount")
        if not (kind or description or partner_raw or amount_raw):
            continue
        label = f"resource {i + 1}"
        if kind not in kinds:
            errors[f"{p}-kind"] = f"Select what kind of resource {label} is"
        if not description:
            errors[f"{p}-description"] = f"Enter a description of {label}"
        _check_length(errors, f"{p}-description", description, MAX_TEXT, f"The description of {label}")
        partner_id: int | None = None
        if partner_raw:
            partner_id = int(partner_raw) if partner_raw.isdigit() else -1
            if partner_id not in names:
                errors[f"{p}-partner_id"] = f"Select a partner in this collaboration for {label}"
                partner_id = None
        amount, ok = read_amount(amount_raw)
        if not ok:
            errors[f"{p}-amount"] = (f"The amount for {label} must be a whole number of pounds, "
                                     "like 450000 or £450,000")
        elif amount is not None and kind != ResourceKind.MONEY.value:
            errors[f"{p}-amount"] = f"Only money has an amount: leave the amount for {label} blank"
        rows.append(Resource(kind, description, partner_id, names.get(partner_id, "") if partner_id else "",
                             amount))
    return replace(draft, resources=tuple(rows)), errors


def status_problems(draft: Draft) -> list[str]:
    """What a charter lacks before it can be active or paused."""
    problems = []
    if not (draft.problem and draft.shared_goal and draft.value_accounting):
        problems.append("answer the four questions")
    if len(draft.partners) < 2:
        problems.append("add at least 2 partners")
    if not draft.measures:
        problems.append("add at least 1 outcome measure")
    return problems


def read_status(draft: Draft, form: Form) -> tuple[Draft, Errors]:
    errors: Errors = {}
    status = _text(form, "status")
    if status not in {s.value for s in Status}:
        errors["status"] = "Select the collaboration's status"
        return draft, errors
    if status in (Status.ACTIVE, Status.PAUSED):
        problems = status_problems(draft)
        if problems:
            errors["status"] = (f"Before the collaboration can be {status}, "
                                + _join_words(problems))
    return replace(draft, status=status), errors


def _join_words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def validate(draft: Draft) -> Errors:
    """Every rule, over the whole draft. :func:`save` refuses a draft that fails any.

    The four questions are only required once any of them is answered (a new collaboration
    has a name and nothing else yet)."""
    errors: Errors = {}
    questions = {"name": draft.name, "problem": draft.problem, "shared_goal": draft.shared_goal,
                 "value_accounting": draft.value_accounting}
    if draft.problem or draft.shared_goal or draft.value_accounting:
        _, found = read_questions(draft, questions)
    else:
        found = {} if draft.name.strip() else {"name": "Enter the collaboration's name"}
    errors |= found
    named = [_Named(p.partner_id, p.partner) for p in draft.partners]
    for _, found in (
        read_partners(draft, partner_form(draft, named), named),
        read_measures(draft, measure_form(draft)),
        read_risks(draft, risk_form(draft)),
        read_resources(draft, resource_form(draft)),
        read_status(draft, {"status": draft.status}),
    ):
        for key, message in found.items():
            errors.setdefault(key, message)
    return errors


@dataclass(frozen=True)
class _Named:
    id: int
    name: str


def measure_form(draft: Draft) -> dict[str, str]:
    """The measures as the form fields their edit page shows."""
    form: dict[str, str] = {}
    for i, m in enumerate(draft.measures):
        form |= {f"measures-{i}-name": m.name, f"measures-{i}-unit": m.unit,
                 f"measures-{i}-baseline": m.baseline, f"measures-{i}-target": m.target,
                 **{f"measures-{i}-check_on-{k}": v for k, v in date_fields(m.check_on).items()}}
    return form


def risk_form(draft: Draft) -> dict[str, str]:
    form: dict[str, str] = {}
    for i, r in enumerate(draft.risks):
        form |= {f"risks-{i}-description": r.description, f"risks-{i}-how_held": r.how_held}
    return form


def resource_form(draft: Draft) -> dict[str, str]:
    form: dict[str, str] = {}
    for i, r in enumerate(draft.resources):
        form |= {f"resources-{i}-kind": r.kind, f"resources-{i}-description": r.description,
                 f"resources-{i}-partner_id": str(r.partner_id or ""),
                 f"resources-{i}-amount": str(r.amount_gbp) if r.amount_gbp is not None else ""}
    return form


def partner_form(draft: Draft, place_partners: Sequence[PartnerLike]) -> dict[str, str]:
    """The partners part as its edit page's fields (``partners-<partner id>-...``)."""
    by_id = {p.partner_id: p for p in draft.partners}
    form: dict[str, str] = {}
    for partner in place_partners:
        pp = by_id.get(partner.id)
        if pp is None:
            continue
        i = partner.id
        form |= {f"partners-{i}-included": "yes", f"partners-{i}-offers": pp.offers,
                 f"partners-{i}-gives_up": pp.gives_up, f"partners-{i}-signed_by": pp.signed_by,
                 **{f"partners-{i}-signed_on-{k}": v for k, v in date_fields(pp.signed_on).items()}}
    return form


# -- saving ---------------------------------------------------------------------------------------


def save(
    session: Session, collab: Collaboration, draft: Draft, *, author: User | None, ip: str = ""
) -> CharterRevision | None:
    """Write the draft to the collaboration in the caller's transaction.

    Appends a revision and an audit event, and returns the revision; returns None, writing
    nothing, when the draft is the same as what is saved. Raises CharterInvalid if the draft
    fails validation (nothing is written then either).
    """
    errors = validate(draft)
    errors |= validate_name(session, collab.place, draft.name, ignore_id=collab.id) if draft.name else {}
    if errors:
        raise CharterInvalid(errors)
    before = draft_of(collab)
    changes = describe_changes(before.snapshot(), draft.snapshot())
    if not changes:
        return None
    collab.name = draft.name
    collab.status = draft.status
    collab.problem, collab.shared_goal = draft.problem, draft.shared_goal
    collab.value_accounting = draft.value_accounting
    _sync_partners(collab, draft.partners)
    _sync_rows(collab.measures, draft.measures, lambda m: OutcomeMeasure(
        name=m.name, unit=m.unit, baseline=m.baseline, target=m.target, check_on=m.check_on))
    _sync_rows(collab.risks, draft.risks, lambda r: SharedRisk(description=r.description,
                                                                 how_held=r.how_held))
    _sync_rows(collab.resources, draft.resources, lambda r: PooledResource(
        kind=r.kind, description=r.description, partner_id=r.partner_id, amount_gbp=r.amount_gbp))
    collab.updated_at = utcnow()
    session.flush()
    session.expire(collab, ["partners", "measures", "risks", "resources"])
    return _append_revision(session, collab, draft_of(collab), changes, author=author, ip=ip)


def _sync_partners(collab: Collaboration, parts: Sequence[PartnerPart]) -> None:
    # Update in place by partner: deleting and re-adding a row for the same partner in one
    # flush would break the (collaboration, partner) unique constraint.
    wanted = {p.partner_id: p for p in parts}
    for cp in list(collab.partners):
        if cp.partner_id not in wanted:
            collab.partners.remove(cp)
    have = {cp.partner_id: cp for cp in collab.partners}
    for pid, p in wanted.items():
        cp = have.get(pid) or CharterPartner(partner_id=pid)
        if cp.id is None:
            collab.partners.append(cp)
        cp.offers, cp.gives_up, cp.signed_by, cp.signed_on = p.offers, p.gives_up, p.signed_by, p.signed_on


_ROW_FIELDS = {
    OutcomeMeasure: ("name", "unit", "baseline", "target", "check_on"),
    SharedRisk: ("description", "how_held"),
    PooledResource: ("kind", "description", "partner_id", "amount_gbp"),
}


def _sync_rows(existing: list[Any], wanted: Sequence[Any], make: Any) -> None:
    """Rows kept by position: update the first ones in place, drop or add the rest."""
    for row, value in zip(existing, wanted, strict=False):
        fresh = make(value)
        for name in _ROW_FIELDS[type(row)]:
            setattr(row, name, getattr(fresh, name))
    del existing[len(wanted):]
    for value in wanted[len(existing):]:
        existing.append(make(value))


def _append_revision(
    session: Session, collab: Collaboration, draft: Draft, changes: list[str], *,
    author: User | None, ip: str,
) -> CharterRevision:
    number = int(session.scalar(select(func.max(CharterRevision.number))
                                .where(CharterRevision.collaboration_id == collab.id)) or 0) + 1
    summary = _summarise(changes)
    revision = CharterRevision(
        collaboration_id=collab.id, number=number, at=utcnow(),
        author_id=author.id if author else None,
        author_label=author.name if author else "command line",
        summary=summary, snapshot=draft.snapshot(),
    )
    session.add(revision)
    audit.record(
        session, "charter.changed", actor_id=author.id if author else None,
        actor_label=author.email if author else "command line", place_id=collab.place_id,
        subject=collab.slug, detail={"revision": number, "summary": summary}, ip=ip,
    )
    session.flush()
    return revision


def _summarise(changes: list[str]) -> str:
    summary = "; ".join(changes)
    return summary if len(summary) <= 500 else summary[:497] + "..."


# -- history ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between two snapshots, for people to read."""

    what: str
    before: str = ""
    after: str = ""


_QUESTION_LABELS = {
    "name": "Name",
    "problem": "The problem",
    "shared_goal": "The shared goal",
    "value_accounting": "How public value added is accounted for",
    "status": "Status",
}


def changes_between(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """What changed from one snapshot to the next (old None: the first revision)."""
    if old is None:
        return [Change("Started the collaboration", "", str(new.get("name", "")))]
    out: list[Change] = []
    for key, label in _QUESTION_LABELS.items():
        if old.get(key, "") != new.get(key, ""):
            before, after = str(old.get(key, "")), str(new.get(key, ""))
            if key == "status":
                before, after = _status_label(before), _status_label(after)
            out.append(Change(label, before, after))
    old_p = {p["partner_id"]: p for p in old.get("partners", [])}
    new_p = {p["partner_id"]: p for p in new.get("partners", [])}
    for pid, p in new_p.items():
        if pid not in old_p:
            out.append(Change(f"Partner added: {p['partner']}", "", _describe_partner(p)))
        elif old_p[pid] != p:
            out.append(Change(f"Partner changed: {p['partner']}", _describe_partner(old_p[pid]),
                              _describe_partner(p)))
    for pid, p in old_p.items():
        if pid not in new_p:
            out.append(Change(f"Partner removed: {p['partner']}", _describe_partner(p), ""))
    for key, noun, describe in (("measures", "Outcome measure", _describe_measure),
                                ("risks", "Shared risk", _describe_risk),
                                ("resources", "Pooled resource", _describe_resource)):
        old_rows, new_rows = list(old.get(key, [])), list(new.get(key, []))
        for i in range(max(len(old_rows), len(new_rows))):
            b = old_rows[i] if i < len(old_rows) else None
            a = new_rows[i] if i < len(new_rows) else None
            if b == a:
                continue
            if b is None and a is not None:
                out.append(Change(f"{noun} added", "", describe(a)))
            elif a is None and b is not None:
                out.append(Change(f"{noun} removed", describe(b), ""))
            elif a is not None and b is not None:
                out.append(Change(f"{noun} changed", describe(b), describe(a)))
    return out


def _status_label(value: str) -> str:
    return STATUS_LABELS[Status(value)] if value in set(Status) else value


def describe_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Short phrases for a revision's summary."""
    phrases: list[str] = []
    for c in changes_between(old, new):
        if c.what == "Status":
            phrases.append(f"Status changed from {c.before.lower()} to {c.after.lower()}")
        elif c.what in _QUESTION_LABELS.values():
            phrases.append(f"{c.what} changed")
        elif c.what.endswith((" added", " removed", " changed")) and not c.what.startswith("Partner"):
            text = c.after or c.before
            if c.what.startswith("Pooled resource"):
                text = text.split(": ", 1)[-1]
            phrases.append(f"{c.what}: {text.split(':')[0].split(',')[0][:80]}")
        else:
            phrases.append(c.what)
    return phrases


def _describe_partner(p: Mapping[str, Any]) -> str:
    bits = [f"Offers: {p.get('offers') or '–'}"]
    if p.get("gives_up"):
        bits.append(f"Gives up: {p['gives_up']}")
    if p.get("signed_by"):
        bits.append(f"Signed by {p['signed_by']} on {_iso_to_text(p.get('signed_on'))}")
    return ". ".join(bits)


def _describe_measure(m: Mapping[str, Any]) -> str:
    unit = f" {m['unit']}" if m.get("unit") else ""
    return (f"{m['name']}: from {m['baseline']} to {m['target']}{unit}, "
            f"checked on {_iso_to_text(m.get('check_on'))}")


def _describe_risk(r: Mapping[str, Any]) -> str:
    return f"{r['description']}: {r['how_held']}"


def _describe_resource(r: Mapping[str, Any]) -> str:
    kind = str(r.get("kind", ""))
    label = RESOURCE_LABELS[ResourceKind(kind)] if kind in set(ResourceKind) else kind
    text = f"{label}: {r['description']}"
    if r.get("amount_gbp") is not None:
        text += f", £{int(r['amount_gbp']):,}"
    if r.get("partner"):
        text += f", from {r['partner']}"
    return text


def _iso_to_text(value: str | None) -> str:
    if not value:
        return ""
    d = date.fromisoformat(value)
    return f"{d.day} {d.strftime('%B %Y')}"


@dataclass(frozen=True)
class HistoryEntry:
    revision: CharterRevision
    changes: list[Change] = field(default_factory=list)


def history(session: Session, collab: Collaboration) -> list[HistoryEntry]:
    """Revisions newest first, each with what changed since the one before."""
    revisions = list(session.scalars(
        select(CharterRevision).where(CharterRevision.collaboration_id == collab.id)
        .order_by(CharterRevision.number)
    ))
    entries: list[HistoryEntry] = []
    previous: Mapping[str, Any] | None = None
    for rev in revisions:
        entries.append(HistoryEntry(rev, changes_between(previous, rev.snapshot)))
        previous = rev.snapshot
    return entries[::-1]


__all__ = [
    "Change", "CharterInvalid", "Draft", "HistoryEntry", "Measure", "PartnerPart", "Resource", "Risk",
    "changes_between", "create_collaboration", "draft_of", "get_collaboration", "history",
    "list_collaborations", "read_measures", "read_partners", "read_questions", "read_resources",
    "read_risks", "read_status", "save", "validate",
]
