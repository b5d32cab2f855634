"""Collaborations and their charters: find, create, save with a revision, and (re-exported
from draft.py, parts.py and history.py) read a form part, validate, see the history.

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

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from joinedup import audit
from joinedup.collaborations.draft import (
    RESOURCE_LABELS,
    STATUS_COLOURS,
    STATUS_HINTS,
    STATUS_LABELS,
    CharterInvalid,
    Draft,
    Errors,
    Measure,
    PartnerLike,
    PartnerPart,
    Resource,
    Risk,
    draft_of,
)
from joinedup.collaborations.history import Change, HistoryEntry, changes_between, describe_changes, history
from joinedup.collaborations.models import (
    CharterPartner,
    CharterRevision,
    Collaboration,
    OutcomeMeasure,
    PooledResource,
    SharedRisk,
    Status,
)
from joinedup.collaborations.parts import (
    MAX_NAME,
    measure_form,
    partner_form,
    read_measures,
    read_partners,
    read_questions,
    read_resources,
    read_risks,
    read_status,
    resource_form,
    risk_form,
    status_problems,
    validate,
)
from joinedup.db.base import utcnow
from joinedup.places.models import Place, User
from joinedup.places.service import slugify

# Words the web pages use after /collaborations/, which a collaboration's slug must not be.
RESERVED_SLUGS = frozenset({"new"})


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


__all__ = [
    "RESOURCE_LABELS", "STATUS_COLOURS", "STATUS_HINTS", "STATUS_LABELS", "Change", "CharterInvalid",
    "Draft", "Errors", "HistoryEntry", "Measure", "PartnerLike", "PartnerPart", "Resource", "Risk",
    "changes_between", "create_collaboration", "describe_changes", "draft_of", "get_collaboration",
    "history", "latest_revision", "list_collaborations", "measure_form", "partner_form", "read_measures",
    "read_partners", "read_questions", "read_resources", "read_risks", "read_status", "resource_form",
    "risk_form", "save", "status_problems", "validate",
]
