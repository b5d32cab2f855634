"""Checking what the analyst gives the account: the programme cohort, the measures and the
parameters. Every refusal is a :class:`ValueInputError` with a plain message and the form
field it belongs to, raised before anything is computed or stored."""

from __future__ import annotations

from datetime import date

import duckdb

from joinedup.insight.cohorts import cohort_members_sql, cohorts
from joinedup.value.account import MeasureSpec, Parameters, Programme, ValueInputError

__all__ = ["check_parameters", "check_price_year", "from_cohort", "from_source", "measure_problem"]


def _fmt(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _window(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    row = con.execute(
        "SELECT min(r.event_date), max(r.event_date) FROM records r "
        "JOIN person_links l USING (source, record_id)"
    ).fetchall()
    return (row[0][0], row[0][1]) if row and row[0][0] is not None else None


def from_source(con: duckdb.DuckDBPyConnection, source_name: str) -> Programme:
    name = source_name.strip()
    if not name:
        raise ValueInputError("Choose the programme's caseload source", "source")
    known = con.execute("SELECT count(*) FROM sources WHERE name = ?", [name]).fetchall()[0][0]
    if not known:
        raise ValueInputError(f"There is no source called {name!r} in this place", "source")
    rows = con.execute(
        "SELECT l.person_id, min(r.event_date) FROM records r "
        "JOIN person_links l USING (source, record_id) "
        "WHERE r.source = ? AND r.event_date IS NOT NULL GROUP BY l.person_id ORDER BY l.person_id",
        [name],
    ).fetchall()
    (n_records,) = con.execute("SELECT count(*) FROM records WHERE source = ?", [name]).fetchall()[0]
    (n_linked,) = con.execute(
        "SELECT count(*) FROM records r JOIN person_links l USING (source, record_id) WHERE r.source = ?",
        [name],
    ).fetchall()[0]
    if not rows:
        raise ValueInputError(
            f"None of the {n_records} records in {name!r} link to a person with a start date: "
            "run linkage after ingesting it, and check the extract has a start date per person",
            "source",
        )
    return Programme(name, tuple((str(p), d) for p, d in rows), f"source:{name}", int(n_records - n_linked))


def from_cohort(con: duckdb.DuckDBPyConnection, cohort_name: str, entry_date: date) -> Programme:
    chosen = next((c for c in cohorts(con) if c.name == cohort_name), None)
    if chosen is None:
        raise ValueInputError(f"There is no cohort called {cohort_name!r}", "cohort")
    window = _window(con)
    if window is None or not window[0] <= entry_date <= window[1]:
        span = f"{_fmt(window[0])} to {_fmt(window[1])}" if window else "no dates yet"
        raise ValueInputError(f"The entry date must be within the place's data ({span})", "entry_date")
    sql, params = cohort_members_sql(chosen)
    people = [
        str(r[0])
        for r in con.execute(f"SELECT DISTINCT person_id FROM ({sql}) ORDER BY 1", params).fetchall()
    ]  # noqa: S608
    if not people:
        raise ValueInputError(f"No one in the place is in the cohort {chosen.label!r}", "cohort")
    return Programme(chosen.label, tuple((p, entry_date) for p in people), f"cohort:{chosen.name}")


def measure_problem(con: duckdb.DuckDBPyConnection, spec: MeasureSpec) -> ValueInputError | None:
    if not spec.key.strip() or not spec.label.strip():
        return ValueInputError("Give the measure a name", "label")
    if not spec.services:
        return ValueInputError(f"Choose at least one service for {spec.label!r}", "services")
    for service in spec.services:
        (n,) = con.execute(
            "SELECT count(*) FROM records r JOIN sources s ON s.name = r.source "
            "WHERE s.service = ? OR s.name = ?",
            [service, service],
        ).fetchall()[0]
        if not n:
            return ValueInputError(
                f"The service {service!r} has no events in this place, so {spec.label!r} cannot be measured",
                "services",
            )
    if spec.statistic == "nights":
        (n,) = con.execute(
            "SELECT count(*) FROM records r JOIN sources s ON s.name = r.source "
            "WHERE (s.service IN (SELECT unnest(?)) OR s.name IN (SELECT unnest(?))) "
            "AND r.event_end_date IS NOT NULL",
            [list(spec.services), list(spec.services)],
        ).fetchall()[0]
        if not n:
            return ValueInputError(
                f"{spec.label!r} counts nights, but its services' events have no end dates", "statistic"
            )
    if spec.unit_cost_code:
        (n,) = con.execute(
            "SELECT count(*) FROM unit_costs WHERE code = ?", [spec.unit_cost_code]
        ).fetchall()[0]
        if not n:
            return ValueInputError(
                f"There is no unit cost with the code {spec.unit_cost_code!r}", "unit_cost_code"
            )
    if not 0 < spec.unit_cost_scale <= 1000:
        return ValueInputError("The unit cost scale must be more than 0 and at most 1,000", "unit_cost_scale")
    return None


def check_price_year(con: duckdb.DuckDBPyConnection, price_year: str) -> None:
    (n,) = con.execute("SELECT count(*) FROM deflators WHERE financial_year = ?", [price_year]).fetchall()[0]
    if not n:
        raise ValueInputError(f"There is no GDP deflator for {price_year}; add one first", "price_year")


def _share(value: float, name: str, field: str) -> None:
    if not 0 <= value <= 1:
        raise ValueInputError(f"{name} must be between 0% and 100%", field)


def check_parameters(p: Parameters) -> None:
    if not 1 <= p.window_before <= 12:
        raise ValueInputError("The window before entry must be from 1 to 12 quarters", "window_before")
    if not 1 <= p.window_after <= 12:
        raise ValueInputError("The window after entry must be from 1 to 12 quarters", "window_after")
    if not 0 <= p.discount_rate <= 0.15:
        raise ValueInputError(
            "The discount rate must be between 0% and 15% a year (the Green Book rate is 3.5%)",
            "discount_rate",
        )
    _share(p.deadweight, "Deadweight", "deadweight")
    _share(p.attribution, "Attribution", "attribution")
    _share(p.drop_off, "Drop-off", "drop_off")
    if not 1 <= p.persistence_years <= 30:
        raise ValueInputError("The effect can last from 1 to 30 years", "persistence_years")
    for grade, value in p.optimism_bias.items():
        _share(value, f"Optimism bias for grade {grade}", "optimism_bias")
    if p.evidence_grade is not None and p.evidence_grade not in p.optimism_bias:
        raise ValueInputError(
            f"There is no optimism bias for evidence grade {p.evidence_grade}", "evidence_grade"
        )
    for cost in p.costs:
        if not cost.partner.strip():
            raise ValueInputError("Each cost needs the partner who bears it", "costs")
        if not 0 <= cost.amount_gbp <= 1e10:
            raise ValueInputError(
                f"A cost must be between £0 and £10 billion ({cost.partner}, year {cost.year})", "costs"
            )
        if not 0 <= cost.year < 30:
            raise ValueInputError("A cost's year must be from 0 (the first year) to 29", "costs")
    for extra in p.extra_values:
        if not extra.source.strip():
            raise ValueInputError("Each economic or social value needs its source", "extra_values")
        if abs(extra.value_gbp) > 1e7:
            raise ValueInputError(
                "An economic or social value must be under £10 million a unit", "extra_values"
            )
    for code, split in p.agency_splits.items():
        if any(s < 0 for s in split.values()) or abs(sum(split.values()) - 1) > 0.001:
            raise ValueInputError(
                f"The agency shares of {code} must be positive and add up to 100%", "agency_splits"
            )
    for agency, share in p.cashable.items():
        _share(share, f"The cashable share for {agency}", "cashable")
    if not 100 <= p.mc_draws <= 200_000:
        raise ValueInputError("Monte Carlo draws must be from 100 to 200,000", "mc_draws")
    if p.min_persons < 1:
        raise ValueInputError("The smallest cohort must be at least 1", "min_persons")
    for name, (low, high) in p.ranges.items():
        if low > high:
            raise ValueInputError(f"The range for {name} has its low above its high", "ranges")
        if name == "discount_rate" and not (low >= 0 and high <= 0.15):
            raise ValueInputError("The discount rate range must lie between 0% and 15%", "ranges")
        if name in ("deadweight", "attribution", "drop_off") and not (low >= 0 and high <= 1):
            raise ValueInputError(f"The range for {name} must lie between 0% and 100%", "ranges")
        if name in ("unit_costs", "costs") and not (low >= 0 and high <= 10):
            raise ValueInputError(f"The range for {name} must be factors from 0 to 10", "ranges")
