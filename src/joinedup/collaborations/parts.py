"""Reading one part of a charter from its edit form, with errors keyed by the field they
belong to, and the reverse (a draft's part as the form's fields). :func:`validate` checks a
whole draft by reading each part back. No web imports here.

Field names: ``name``, ``problem``, ``shared_goal``, ``value_accounting``, ``status``;
``partners-<partner id>-included|offers|gives_up|signed_by|signed_on-day|month|year``;
``measures-<i>-name|unit|baseline|target|check_on-day|month|year|remove``;
``risks-<i>-description|how_held|remove``; ``resources-<i>-kind|description|partner_id|amount|remove``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from joinedup.collaborations.draft import (
    Draft,
    Errors,
    Measure,
    PartnerLike,
    PartnerPart,
    Resource,
    Risk,
)
from joinedup.collaborations.models import ResourceKind, Status
from joinedup.db.base import utcnow

Form = Mapping[str, str]

MAX_NAME = 200
MAX_TEXT = 5000
MAX_SHORT = 100
MAX_MEASURE_NAME = 300


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
