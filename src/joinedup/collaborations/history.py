"""A charter's history: what changed between one saved revision and the next. No web imports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.collaborations.draft import RESOURCE_LABELS, STATUS_LABELS
from joinedup.collaborations.models import CharterRevision, Collaboration, ResourceKind, Status


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
