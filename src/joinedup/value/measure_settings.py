"""The measures part of an account's settings: read from the form, checked against the
place's store, saved whole. Only analysts change them (see joinedup.value.settings)."""

from __future__ import annotations

import re
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from joinedup.value.account import ValueInputError, validate_measure
from joinedup.value.models import ValueAccount
from joinedup.value.settings import KEY, Errors, measure_spec, read_number, touch

__all__ = ["check_measure", "read_measure", "save_measures"]


def read_measure(
    form: dict[str, str], services: list[str], existing: list[str]
) -> tuple[dict[str, Any], Errors]:
    """One measure from its form. ``services`` are the store's services (the checkboxes)."""
    errors: Errors = {}
    label = form.get("label", "").strip()
    if not label:
        errors["label"] = "Enter a name for the measure"
    key = form.get("key", "").strip().lower() or re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:60]
    if key and not key[0].isalpha():
        key = "m_" + key
    if not KEY.match(key or "-"):
        errors.setdefault("label", "Enter a name for the measure that starts with a letter")
    elif key in existing:
        errors["label"] = "There is already a measure with this name: choose another"
    chosen = [s for i, s in enumerate(services) if form.get(f"service-{i}")]
    if not chosen:
        errors["service-0"] = "Choose at least one service whose events the measure counts"
    statistic = form.get("statistic", "count")
    if statistic not in {"count", "nights"}:
        errors["statistic"] = "Choose what the measure counts"
    direction = form.get("direction", "")
    if direction not in {"lower", "higher"}:
        errors["direction"] = "Choose whether lower or higher is better"
    extra: dict[str, Any] = {}
    for kind in ("economic", "social"):
        value = read_number(
            form,
            f"{kind}_value",
            errors,
            f"the {kind} value per unit in pounds",
            low=0,
            high=10_000_000,
            blank=-1.0,
        )
        source = form.get(f"{kind}_source", "").strip()
        if value is not None and value >= 0 and not source:
            errors[f"{kind}_source"] = f"Say where the {kind} value comes from"
        extra[f"{kind}_value"] = "" if value is None or value < 0 else value
        extra[f"{kind}_source"] = source
    scale = read_number(
        form,
        "unit_cost_scale",
        errors,
        "the units of the cost in one unit of the measure",
        low=0.000001,
        high=1000,
        blank=1.0,
    )
    return {
        "key": key,
        "label": label,
        "services": chosen,
        "statistic": statistic,
        "direction": direction,
        "unit_cost_code": form.get("unit_cost_code", "").strip(),
        "unit_cost_scale": scale or 1.0,
        **extra,
    }, errors


def check_measure(con: duckdb.DuckDBPyConnection, stored: dict[str, Any]) -> Errors:
    """The engine's checks: a service with no events, an unknown unit cost, nights asked of
    events with no end dates."""
    try:
        validate_measure(con, measure_spec(stored))
    except ValueInputError as exc:
        field = {"services": "service-0"}.get(exc.field, exc.field)
        known = {"service-0", "unit_cost_code", "statistic", "direction", "label"}
        return {field if field in known else "service-0": exc.message}
    return {}


def save_measures(
    session: Session, account: ValueAccount, measures: list[dict[str, Any]], *, by: str
) -> None:
    account.measures = measures
    touch(account, by)
    session.flush()
