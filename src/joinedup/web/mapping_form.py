"""The "Check the columns" form: a suggested mapping shown as one field choice per column,
and the analyst's answers turned back into a mapping's TOML (or errors on the fields).

Presentation only: the suggestions come from joinedup.insight.suggest, the TOML from
joinedup.insight.mapping, and the column checks are the engine's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from joinedup.insight.mapping import DATE_FIELDS, STANDARD_FIELDS, Mapping, mapping_text
from joinedup.insight.readers import Extract
from joinedup.insight.suggest import LABELS, Suggestion, check_column, suggest_source
from joinedup.places.models import Place
from joinedup.web.forms import FormErrors

__all__ = ["Answers", "initial_values", "page_rows", "read_answers", "registry_of", "source_items"]

SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-. ]{0,79}")
SOURCE_TEXT = ("need", "legal_basis", "dsa_reference", "retain_until", "cost_item")


def registry_of(place: Place) -> list[tuple[str, list[str]]]:
    """The place's partners and their services. A partner or service retired in the app (if
    they can be retired) is left out: new extracts do not come from it."""
    return [
        (p.name, [s.name for s in p.services if getattr(s, "retired_at", None) is None])
        for p in place.partners
        if getattr(p, "retired_at", None) is None
    ]


def initial_values(
    suggestion: Suggestion, file_name: str, registry: list[tuple[str, list[str]]],
    reused: Mapping | None = None, reused_name: str | None = None,
) -> dict[str, str]:  # fmt: skip
    """The form's first values: the suggestion, or a saved source's mapping when reused."""
    values: dict[str, str] = {}
    source = suggest_source(file_name, registry)
    values["source_name"] = source.get("name", "")
    values["partner"] = source.get("partner", "")
    values["service"] = source.get("service", "")
    for column in suggestion.columns:
        i = column.position
        values[f"col-{i}"] = column.field or ""
        values[f"format-{i}"] = column.format or ""
    if reused is not None:
        values["source_name"] = reused_name or values["source_name"]
        values["replace"] = "yes"
        values["partner"], values["service"] = reused.partner, reused.service
        values["one_record_per_person"] = "yes" if reused.one_record_per_person else ""
        for key in SOURCE_TEXT:
            value = getattr(reused, key)
            values[key] = value.isoformat() if isinstance(value, date) else (value or "")
        by_header = {c.header.strip().lower(): c.position for c in suggestion.columns}
        for column in suggestion.columns:
            values[f"col-{column.position}"] = ""
            values[f"format-{column.position}"] = ""
        for spec in reused.columns:
            found = by_header.get(spec.column.strip().lower())
            if found is None:
                continue  # named in the error shown with the form
            i = found
            values[f"col-{i}"] = spec.field
            values[f"format-{i}"] = spec.format or ""
            reading = suggestion.columns[i].date
            if spec.format and reading and reading.ask:
                values[f"order-{i}"] = "day" if spec.format == reading.day_first else "month"
    return values


def missing_columns(suggestion: Suggestion, reused: Mapping) -> list[str]:
    headers = {c.header.strip().lower() for c in suggestion.columns}
    return [s.column for s in reused.columns if s.column.strip().lower() not in headers]


def source_items(registry: list[tuple[str, list[str]]], values: dict[str, str]) -> dict[str, Any]:
    """Items for the partner and service selects (a saved value outside the registry stays)."""
    partners = [p for p, _ in registry]
    services = [(p, s) for p, ss in registry for s in ss]
    if values.get("partner") and values["partner"] not in partners:
        partners.append(values["partner"])
    if values.get("service") and values["service"] not in {s for _, s in services}:
        services.append((values.get("partner", ""), values["service"]))
    partner_items = [{"value": "", "text": "Choose the partner"}] + [
        {"value": p, "text": p, "selected": p == values.get("partner")} for p in partners
    ]
    service_items = [{"value": "", "text": "Choose the service"}] + [
        {"value": s, "text": f"{s} ({p})" if p else s, "selected": s == values.get("service")}
        for p, s in services
    ]
    return {"partner_items": partner_items, "service_items": service_items,
            "has_registry": bool(registry)}  # fmt: skip


def page_rows(suggestion: Suggestion, values: dict[str, str], errors: FormErrors) -> list[dict[str, Any]]:
    """One row per column for the template: samples, the field select and date order radios."""
    rows = []
    for column in suggestion.columns:
        i = column.position
        chosen = values.get(f"col-{i}", "")
        items = [{"value": "", "text": "Not used", "selected": not chosen}] + [
            {"value": f, "text": LABELS[f][:1].upper() + LABELS[f][1:], "selected": f == chosen}
            for f in STANDARD_FIELDS
        ]
        reading = column.date
        order = values.get(f"order-{i}", "")
        if reading and reading.day_first and not order and not reading.ask:
            fmt = values.get(f"format-{i}", "")
            order = "day" if fmt == reading.day_first else "month" if fmt == reading.month_first else ""
        rows.append({
            "i": i, "header": column.header, "samples": column.samples, "items": items,
            "suggested": LABELS.get(column.field or "", ""), "confidence": column.confidence,
            "reason": column.reason, "error": errors.get(f"col-{i}"),
            "format": values.get(f"format-{i}", ""),
            "ask": bool(reading and reading.ask), "orders": bool(reading and reading.day_first),
            "order_items": [
                {"value": "day", "text": f"Day first ({reading.day_first})", "checked": order == "day"},
                {"value": "month", "text": f"Month first ({reading.month_first})",
                 "checked": order == "month"},
            ] if reading and reading.day_first else [],
            "order_error": errors.get(f"order-{i}"),
        })  # fmt: skip
    return rows


@dataclass
class Answers:
    """What the analyst chose, and the mapping's TOML if it is usable."""

    values: dict[str, str]
    errors: FormErrors = field(default_factory=FormErrors)
    source_name: str = ""
    replace: bool = False
    text: str | None = None


def read_answers(
    form: dict[str, str], suggestion: Suggestion, extract: Extract, existing: set[str],
    registry: list[tuple[str, list[str]]], sheet: str | None = None,
) -> Answers:  # fmt: skip
    """Check the submitted form; the mapping's TOML only when nothing is wrong."""
    values = {k: v.strip() for k, v in form.items() if k != "csrf_token"}
    answers = Answers(values=values)
    errors = answers.errors
    name = values.get("source_name", "")
    answers.source_name, answers.replace = name, values.get("replace") == "yes"
    if not name:
        errors.add("source_name", "Enter a name for the source")
    elif not SOURCE_NAME.fullmatch(name):
        errors.add("source_name", "The source name must be letters, digits, spaces, _ - or . "
                                  "(up to 80), starting with a letter or digit")  # fmt: skip
    elif name in existing and not answers.replace:
        errors.add("source_name", f"There is already a source called {name!r}: give another name, "
                                  "or tick the box to replace it")  # fmt: skip
    partner, service = values.get("partner", ""), values.get("service", "")
    if not partner:
        errors.add("partner", "Choose the partner that sent the extract")
    if not service:
        errors.add("service", "Choose the service the extract is from")
    elif registry and partner and any(p == partner for p, _ in registry):
        services = next(ss for p, ss in registry if p == partner)
        if service not in services:
            errors.add("service", f"{service} is not a service of {partner}: choose one of its services")
    retain = values.get("retain_until", "")
    retain_date: date | None = None
    if retain:
        try:
            retain_date = date.fromisoformat(retain)
        except ValueError:
            errors.add("retain_until", "Enter the date to keep the source until, like 2027-03-31")

    columns: list[tuple[str, str, str | None]] = []
    first_for: dict[str, tuple[str, int]] = {}
    suggested = {name: c.position for name, c in suggestion.by_field().items()}
    for column in suggestion.columns:
        i = column.position
        chosen = values.get(f"col-{i}", "")
        if not chosen:
            continue
        if chosen not in STANDARD_FIELDS:
            errors.add(f"col-{i}", f"Choose a field for column {column.header!r} from the list")
            continue
        label = LABELS[chosen]
        if chosen in first_for:
            # The error goes on the column the analyst moved away from the suggestion.
            other, other_i = first_for[chosen]
            here, there = (other_i, column.header) if suggested.get(chosen) == i else (i, other)
            moved = other if here == other_i else column.header
            errors.add(f"col-{here}", f"Column {there!r} already feeds the {label}: choose one "
                                      f"column for it, and another field for {moved!r}")  # fmt: skip
            continue
        first_for[chosen] = (column.header, i)
        fmt: str | None = None
        if chosen in DATE_FIELDS:
            reading = column.date
            order = values.get(f"order-{i}", "")
            if reading is not None and reading.day_first and order in {"day", "month"}:
                fmt = reading.day_first if order == "day" else reading.month_first
            elif reading is not None and reading.ask:
                errors.add(f"order-{i}", f"Choose whether the dates in column {column.header!r} "
                                         "are written day first or month first")  # fmt: skip
                continue
            else:
                fmt = values.get(f"format-{i}") or None
        problem = check_column(extract, chosen, column.header, fmt)
        if problem is not None:
            orders = chosen in DATE_FIELDS and column.date is not None and column.date.day_first
            where = f"order-{i}" if orders and order else f"col-{i}"
            errors.add(where, problem.message(column.header, label))
            continue
        columns.append((chosen, column.header, fmt))
    if "record_id" not in first_for:
        errors.add("columns", "Choose the column that holds each row's own reference (the record "
                              "id): every mapping needs one")  # fmt: skip
    if errors:
        return answers
    source: dict[str, object] = {"name": name, "partner": partner, "service": service,
                                 "retain_until": retain_date, "sheet": sheet}  # fmt: skip
    for key in ("need", "legal_basis", "dsa_reference", "cost_item"):
        source[key] = values.get(key) or None
    # Written only when said, so that a mapping silent on it reads as before.
    source["one_record_per_person"] = True if values.get("one_record_per_person") == "yes" else None
    answers.text = mapping_text(source, columns, preamble="Made in the web app's column check")
    return answers
