"""A collaboration's account settings: read from forms, checked, saved whole or not at all.

Four parts, each saved in one transaction: the programme (which source of the place's store
is the programme's caseload, or which cohort and entry date), the measures, the parameters
of the valuation, and the costs by partner and year. Checks that need the data (a service with
no events, a source whose persons do not link, an entry date outside the data) ask the
engine with the place's insight store open; the rest are checked here. Nothing is written
when anything is wrong.

Who may change what (see docs/guide-leads-charters.md): the programme, its measures and
the windows decide *who and what is counted*, so only analysts change them; leads and
analysts change the valuation and the costs, which are not counts. That way no one but an
analyst can make two accounts of one place whose counts differ by a few people.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import date
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from joinedup.collaborations.models import Collaboration, ResourceKind
from joinedup.db.base import utcnow
from joinedup.value.account import (
    OPTIMISM_BIAS_BY_GRADE,
    CostLine,
    ExtraValue,
    MeasureSpec,
    Parameters,
    Programme,
    ValueInputError,
    programme_from_cohort,
    programme_from_source,
)
from joinedup.value.models import ValueAccount, ValueCost, ValueMeasureLink

__all__ = [
    "RANGED",
    "Errors",
    "SettingsInvalid",
    "account_of",
    "build_inputs",
    "ensure_account",
    "inputs_hash",
    "charter_ties",
    "measure_links",
    "measure_spec",
    "parameters_dict",
    "parameters_of",
    "programme_of",
    "read_number",
    "touch",
    "read_parameters",
    "save_parameters",
]

Errors = dict[str, str]

MAX_COST_GBP = 100_000_000  # a year's spend by one partner on one collaboration
MAX_YEAR = 30  # the Green Book's 3.5% applies to years 0–30
MAX_WINDOW = 12  # quarters before or after entry
# Parameters whose range the sensitivity explores, with the form's words.
RANGED: dict[str, str] = {
    "discount_rate": "Discount rate",
    "attribution": "Attribution",
    "deadweight": "Deadweight",
    "drop_off": "Drop-off",
}
KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")  # a measure's key


class SettingsInvalid(Exception):
    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- reading the stored settings ------------------------------------------------------------


def account_of(session: Session, collab: Collaboration) -> ValueAccount | None:
    from sqlalchemy import select

    return session.scalar(select(ValueAccount).where(ValueAccount.collaboration_id == collab.id))


def ensure_account(session: Session, collab: Collaboration, *, by: str = "") -> ValueAccount:
    """The collaboration's settings, made on first use with the defaults and the costs the
    charter's pooled money already names (year 0: the charter does not say which year)."""
    account = account_of(session, collab)
    if account is not None:
        return account
    account = ValueAccount(
        collaboration_id=collab.id,
        programme=None,
        measures=[],
        parameters=parameters_dict(Parameters()),
        version=1,
        updated_by=by,
    )
    session.add(account)
    for resource in collab.resources:
        if resource.kind == ResourceKind.MONEY.value and resource.amount_gbp and resource.partner_id:
            account.costs.append(
                ValueCost(
                    partner_id=resource.partner_id,
                    year=0,
                    amount_gbp=int(resource.amount_gbp),
                    description=f"From the charter: {resource.description}"[:300],
                )
            )
    session.flush()
    return account


def parameters_dict(params: Parameters) -> dict[str, Any]:
    """What is stored of the parameters: the scalar ones, the optimism-bias table and the
    ranges. Costs and economic and social values are stored beside them."""
    return {
        "window_before": params.window_before,
        "window_after": params.window_after,
        "price_year": params.price_year,
        "discount_rate": params.discount_rate,
        "deadweight": params.deadweight,
        "attribution": params.attribution,
        "evidence_grade": params.evidence_grade,
        "optimism_bias": {str(k): v for k, v in params.optimism_bias.items()},
        "optimism_bias_verified": params.optimism_bias_verified,
        "persistence_years": params.persistence_years,
        "drop_off": params.drop_off,
        "gain_share_rule": params.gain_share_rule,
        "ranges": {k: list(v) for k, v in params.ranges.items()},
        "headline_measure": params.headline_measure,
    }


def parameters_of(account: ValueAccount, *, min_persons: int) -> Parameters:
    """The engine's parameters from the stored settings, with costs and extra values."""
    costs = [CostLine(c.partner.name, c.year, float(c.amount_gbp), c.description) for c in account.costs]
    return parameters_from(
        dict(account.parameters or {}), costs, _extra_values(account.measures), min_persons=min_persons
    )


def parameters_from(
    stored: dict[str, Any], costs: list[CostLine], extras: list[ExtraValue], *, min_persons: int
) -> Parameters:
    base = Parameters()
    params = replace(
        base,
        window_before=int(stored.get("window_before", base.window_before)),
        window_after=int(stored.get("window_after", base.window_after)),
        price_year=str(stored.get("price_year", base.price_year)),
        discount_rate=float(stored.get("discount_rate", base.discount_rate)),
        deadweight=float(stored.get("deadweight", base.deadweight)),
        attribution=float(stored.get("attribution", base.attribution)),
        evidence_grade=(int(stored["evidence_grade"]) if stored.get("evidence_grade") else None),
        optimism_bias={
            int(k): float(v) for k, v in (stored.get("optimism_bias") or OPTIMISM_BIAS_BY_GRADE).items()
        },
        optimism_bias_verified=bool(stored.get("optimism_bias_verified", False)),
        persistence_years=int(stored.get("persistence_years", base.persistence_years)),
        drop_off=float(stored.get("drop_off", base.drop_off)),
        gain_share_rule=stored.get("gain_share_rule", base.gain_share_rule),
        ranges={k: (float(v[0]), float(v[1])) for k, v in (stored.get("ranges") or {}).items()},
        headline_measure=str(stored.get("headline_measure") or ""),
        costs=tuple(costs),
        extra_values=tuple(extras),
        min_persons=min_persons,
        # Not on the form: the Green Book-style 10,000 draws unless a place (or a test) says
        # otherwise in the stored settings.
        mc_draws=int(stored.get("mc_draws", base.mc_draws)),
    )
    return params


def _extra_values(measures: list[dict[str, Any]]) -> list[ExtraValue]:
    out: list[ExtraValue] = []
    for m in measures:
        for kind in ("economic", "social"):
            value = m.get(f"{kind}_value")  # kind is a Literal for the engine: spelt out below
            if value not in (None, ""):
                out.append(ExtraValue(m["key"], kind, float(value), str(m.get(f"{kind}_source", ""))))
    return out


def measure_spec(stored: dict[str, Any]) -> MeasureSpec:
    return MeasureSpec(
        key=stored["key"],
        label=stored["label"],
        services=tuple(stored["services"]),
        statistic=stored.get("statistic", "count"),
        direction=stored.get("direction", "lower"),
        unit_cost_code=stored.get("unit_cost_code") or None,
        unit_cost_scale=float(stored.get("unit_cost_scale", 1.0)),
    )


def measure_dict(spec: MeasureSpec, **extra: Any) -> dict[str, Any]:
    return {
        "key": spec.key,
        "label": spec.label,
        "services": list(spec.services),
        "statistic": spec.statistic,
        "direction": spec.direction,
        "unit_cost_code": spec.unit_cost_code or "",
        "unit_cost_scale": spec.unit_cost_scale,
        "economic_value": "",
        "economic_source": "",
        "social_value": "",
        "social_source": "",
        **extra,
    }


def programme_of(con: duckdb.DuckDBPyConnection, definition: dict[str, Any]) -> Programme:
    """The programme cohort from its stored definition (person-level: it stays in memory)."""
    if definition.get("kind") == "cohort":
        return programme_from_cohort(con, definition["cohort"], date.fromisoformat(definition["entry_date"]))
    return programme_from_source(con, definition["source"])


def build_inputs(
    con: duckdb.DuckDBPyConnection, account: ValueAccount, *, min_persons: int
) -> tuple[Programme, list[MeasureSpec], Parameters]:
    if not account.programme:
        raise ValueInputError("Say who the programme serves before computing the account", "programme")
    if not account.measures:
        raise ValueInputError("Add at least one measure before computing the account", "measures")
    return (
        programme_of(con, account.programme),
        [measure_spec(m) for m in account.measures],
        parameters_of(account, min_persons=min_persons),
    )


def inputs_hash(account: ValueAccount, rule: object) -> str:
    """What the stored result depends on in the app database: every setting, the costs and
    the place's disclosure rule."""
    payload = {
        "programme": account.programme,
        "measures": account.measures,
        "parameters": account.parameters,
        "rule": repr(rule),
        "costs": [[c.partner_id, c.year, c.amount_gbp, c.description] for c in account.costs],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def touch(account: ValueAccount, by: str) -> None:
    account.version = int(account.version or 0) + 1
    account.updated_at = utcnow()
    account.updated_by = by


# --- numbers from forms -----------------------------------------------------------------------


def read_number(
    form: dict[str, str],
    name: str,
    errors: Errors,
    what: str,
    *,
    low: float,
    high: float,
    percent: bool = False,
    blank: float | None = None,
) -> float | None:
    raw = form.get(name, "").strip().replace(",", "").removesuffix("%").removeprefix("£")
    if not raw:
        if blank is not None:
            return blank
        errors[name] = f"Enter {what}"
        return None
    try:
        value = float(raw)
    except ValueError:
        errors[name] = f"Enter {what} as a number"
        return None
    if value != value or not low <= value <= high:
        unit = "%" if percent else ""
        errors[name] = f"Enter {what} between {low:g}{unit} and {high:g}{unit}"
        return None
    return value / 100 if percent else value


# --- parameters -------------------------------------------------------------------------------


def read_parameters(
    form: dict[str, str], current: dict[str, Any], *, analyst: bool, measure_keys: list[str] | None = None
) -> tuple[dict[str, Any], Errors]:
    """The valuation's parameters (rates as percentages on the form). Windows, and the
    measure the sentence leads with, are read only for an analyst: the windows change who is
    counted (see the module's docstring), and the headline is the analyst's reading."""
    errors: Errors = {}
    out = dict(current)
    if analyst and "headline_measure" in form:
        chosen = form.get("headline_measure", "").strip()
        if chosen and chosen not in (measure_keys or []):
            errors["headline_measure"] = "Choose one of the account's measures, or let the account choose"
        out["headline_measure"] = chosen
    if analyst:
        for name, what in (
            ("window_before", "the quarters before entry"),
            ("window_after", "the quarters after entry"),
        ):
            value = read_number(form, name, errors, what, low=1, high=MAX_WINDOW)
            if value is not None:
                if value != int(value):
                    errors[name] = f"Enter {what} as a whole number"
                out[name] = int(value)
    price_year = form.get("price_year", "").strip()
    if (
        not re.fullmatch(r"20\d\d-\d\d", price_year)
        or int(price_year[5:]) != (int(price_year[2:4]) + 1) % 100
    ):
        errors["price_year"] = "Enter the price year as a financial year, like 2024-25"
    out["price_year"] = price_year
    for name, what, low, high in (
        ("discount_rate", "the discount rate", 0.0, 10.0),
        ("deadweight", "the deadweight", 0.0, 100.0),
        ("attribution", "the attribution", 0.0, 100.0),
        ("drop_off", "the drop-off each year", 0.0, 100.0),
    ):
        value = read_number(form, name, errors, what, low=low, high=high, percent=True)
        if value is not None:
            out[name] = value
    years = read_number(
        form, "persistence_years", errors, "how many years the effect lasts", low=1, high=MAX_YEAR
    )
    if years is not None:
        if years != int(years):
            errors["persistence_years"] = "Enter how many years the effect lasts as a whole number"
        out["persistence_years"] = int(years)
    grade = form.get("evidence_grade", "").strip()
    if grade and grade not in {str(g) for g in OPTIMISM_BIAS_BY_GRADE}:
        errors["evidence_grade"] = "Choose a grade from 1 to 6, or let the account choose"
    out["evidence_grade"] = int(grade) if grade in {str(g) for g in OPTIMISM_BIAS_BY_GRADE} else None
    table: dict[str, float] = {}
    for g in OPTIMISM_BIAS_BY_GRADE:
        value = read_number(
            form,
            f"optimism_bias-{g}",
            errors,
            f"the optimism bias for grade {g}",
            low=0.0,
            high=100.0,
            percent=True,
        )
        table[str(g)] = value if value is not None else 0.0
    out["optimism_bias"] = table
    out["optimism_bias_verified"] = form.get("optimism_bias_verified") == "yes"
    rule = form.get("gain_share_rule", "contribution")
    if rule not in {"contribution", "equal"}:
        errors["gain_share_rule"] = "Choose how the partners share the gain"
    out["gain_share_rule"] = rule
    ranges: dict[str, list[float]] = {}
    for name, label in RANGED.items():
        high_limit = 10.0 if name == "discount_rate" else 100.0
        lo = read_number(
            form,
            f"range-{name}-low",
            errors,
            f"the lowest {label.lower()}",
            low=0.0,
            high=high_limit,
            percent=True,
            blank=-1.0,
        )
        hi = read_number(
            form,
            f"range-{name}-high",
            errors,
            f"the highest {label.lower()}",
            low=0.0,
            high=high_limit,
            percent=True,
            blank=-1.0,
        )
        if lo is None or hi is None or (lo < 0 and hi < 0):
            continue
        if lo < 0 or hi < 0:
            errors[f"range-{name}-low"] = f"Enter both ends of the range for the {label.lower()}, or neither"
        elif lo > hi:
            errors[f"range-{name}-low"] = f"The lowest {label.lower()} must not be more than the highest"
        else:
            ranges[name] = [lo, hi]
    out["ranges"] = ranges
    if not errors:
        errors = _engine_checks(out)
    return out, errors


def _engine_checks(stored: dict[str, Any]) -> Errors:
    """The engine's own range checks, on the parameters as they would be used."""
    try:
        parameters_from(stored, [], [], min_persons=8).validate()
    except ValueInputError as exc:
        return {exc.field: exc.message}
    return {}


def save_parameters(session: Session, account: ValueAccount, stored: dict[str, Any], *, by: str) -> None:
    account.parameters = stored
    touch(account, by)
    session.flush()


# --- charter measures tied to the account -------------------------------------------------------


def measure_links(session: Session, collab: Collaboration) -> dict[int, ValueMeasureLink]:
    from sqlalchemy import select

    ids = [m.id for m in collab.measures]
    if not ids:
        return {}
    rows = session.scalars(select(ValueMeasureLink).where(ValueMeasureLink.outcome_measure_id.in_(ids)))
    return {r.outcome_measure_id: r for r in rows}


def charter_ties(session: Session, collab: Collaboration, *, exact: bool) -> dict[int, dict[str, Any]]:
    """For the charter page: each tied outcome measure's measured value (the programme's rate
    after entry; the controlled one unless the reader is an analyst) and the share of the
    way from baseline to target it has come (None when baseline or target is not a number)."""
    account = account_of(session, collab)
    if account is None or account.result is None:
        return {}
    acc = account.result.account if exact else account.result.published
    by_key = {m["key"]: m for m in acc.get("measures", [])}
    out: dict[int, dict[str, Any]] = {}
    links = measure_links(session, collab)
    for m in collab.measures:
        link = links.get(m.id)
        if link is None or link.measure_key not in by_key:
            continue
        rate = by_key[link.measure_key].get("programme_after")
        value = None if rate is None else float(rate) * (4 if link.per == "year" else 1)
        progress = None
        try:
            baseline, target = float(m.baseline.replace(",", "")), float(m.target.replace(",", ""))
        except ValueError:
            baseline = target = 0.0
        if value is not None and baseline != target:
            progress = (baseline - value) / (baseline - target)
        out[m.id] = {
            "value": value,
            "per": link.per,
            "progress": progress,
            "label": by_key[link.measure_key]["label"],
            "computed_at": account.result.computed_at,
        }
    return out
