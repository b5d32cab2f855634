"""The programme part of an account's settings: which source is the caseload, or which cohort
and entry date. Only analysts change it (see joinedup.value.settings for why)."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from joinedup.value.account import ValueInputError
from joinedup.value.models import ValueAccount
from joinedup.value.settings import Errors, programme_of, touch

__all__ = ["check_programme", "read_programme", "save_programme"]


def read_programme(form: dict[str, str]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    kind = form.get("kind", "").strip()
    if kind not in {"source", "cohort"}:
        errors["kind"] = "Choose whether the programme is a source or a cohort"
        return {}, errors
    if kind == "source":
        source = form.get("source", "").strip()
        if not source:
            errors["source"] = "Choose the source that holds the programme's caseload"
        return {"kind": "source", "source": source}, errors
    cohort = form.get("cohort", "").strip()
    if not cohort:
        errors["cohort"] = "Choose the cohort the programme serves"
    entry = _read_date(form, "entry_date", errors, "the date the cohort entered the programme")
    return {"kind": "cohort", "cohort": cohort, "entry_date": entry.isoformat() if entry else ""}, errors


def _read_date(form: dict[str, str], name: str, errors: Errors, what: str) -> date | None:
    parts = [form.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")]
    if not all(parts):
        errors[name] = f"Enter {what}, including a day, month and year"
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        errors[name] = f"Enter {what} as a real date, for example 1 4 2024"
        return None


def check_programme(con: duckdb.DuckDBPyConnection, definition: dict[str, Any], min_persons: int) -> Errors:
    """The engine's checks (unknown source, persons that do not link, an entry date outside
    the data) and the place's: a programme too small to publish is refused."""
    try:
        programme = programme_of(con, definition)
    except ValueInputError as exc:
        return {_programme_field(exc.field): exc.message}
    if programme.n_persons < min_persons:
        field = "source" if definition.get("kind") == "source" else "cohort"
        return {
            field: f"The programme has fewer than {min_persons} linked people, too few to "
            f"publish: an account of it could identify them"
        }
    return {}


def _programme_field(field: str) -> str:
    return field if field in {"kind", "source", "cohort", "entry_date"} else "kind"


def save_programme(session: Session, account: ValueAccount, definition: dict[str, Any], *, by: str) -> None:
    account.programme = definition
    touch(account, by)
    session.flush()
