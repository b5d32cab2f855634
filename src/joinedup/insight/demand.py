"""Demand and its cost: events per person per service, costed with unit costs.

Each record is one event of its source's service. An event is costed at the unit cost of
its cost item (the record's own, or its source's default), uprated from the cost's price
year to one price year with the place's deflator table. Costs are attributed to the
partner whose service the event was: the cohort × partner matrix shows who bears them.
A multi-agency unit cost is not split here (the event's partner carries it); the value
account (value/catalogue.agency_split) splits it among agencies as the UCD does.
One event counts as one unit whatever the unit (a week of outreach, one attendance):
that is a simplification, stated on every page that shows costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from joinedup.insight.cohorts import Cohort, cohort_members_sql, cohorts
from joinedup.insight.store import one

__all__ = [
    "DemandError",
    "Period",
    "cohort_partner_costs",
    "deflators",
    "demand_by_service",
    "price_factor",
    "set_deflator",
    "set_unit_cost",
    "unit_costs",
]

DEFAULT_PRICE_YEAR = "2024-25"


class DemandError(ValueError):
    """A unit cost or deflator that cannot be used."""


@dataclass(frozen=True)
class Period:
    """Events from ``start`` to ``end`` inclusive. Only analysts' own tools choose any dates:
    what leaves the analyst role uses whole financial years (:mod:`joinedup.insight.periods`)."""

    start: date | None = None
    end: date | None = None

    def sql(self) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if self.start:
            clauses.append("r.event_date >= ?")
            params.append(self.start)
        if self.end:
            clauses.append("r.event_date <= ?")
            params.append(self.end)
        return (" AND ".join(clauses) or "TRUE"), params


def unit_costs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT code, domain, item, cost_gbp, unit, price_year, agency, source, edited "
        "FROM unit_costs ORDER BY domain, code"
    ).df()


def deflators(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT financial_year, idx, source FROM deflators ORDER BY financial_year").df()


def _check_year(con: duckdb.DuckDBPyConnection, year: str) -> None:
    if not one(con.execute("SELECT 1 FROM deflators WHERE financial_year = ?", [year])):
        raise DemandError(f"there is no deflator for {year}; add one first")


def set_unit_cost(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    cost_gbp: float,
    price_year: str,
    item: str | None = None,
    unit: str | None = None,
    domain: str | None = None,
    agency: str | None = None,
) -> None:
    """Edit a unit cost, or add the place's own."""
    code = code.strip()
    if not code:
        raise DemandError("a unit cost needs a code")
    if cost_gbp < 0:
        raise DemandError("a unit cost cannot be negative")
    _check_year(con, price_year)
    held = one(con.execute("SELECT 1 FROM unit_costs WHERE code = ?", [code]))
    if held:
        con.execute(
            "UPDATE unit_costs SET cost_gbp = ?, price_year = ?, item = coalesce(?, item), "
            "unit = coalesce(?, unit), domain = coalesce(?, domain), "
            "agency = coalesce(?, agency), edited = TRUE WHERE code = ?",
            [cost_gbp, price_year, item, unit, domain, agency, code],
        )
    else:
        con.execute(
            "INSERT INTO unit_costs VALUES (?, ?, ?, ?, ?, ?, ?, 'Added by the place', TRUE)",
            [code, domain or "local", item or code, cost_gbp, unit or "Per event", price_year,
             agency],
        )  # fmt: skip


def set_deflator(con: duckdb.DuckDBPyConnection, financial_year: str, index: float) -> None:
    if index <= 0:
        raise DemandError("a deflator index must be positive")
    con.execute(
        "INSERT OR REPLACE INTO deflators VALUES (?, ?, 'Edited by the place')",
        [financial_year.strip(), float(index)],
    )


def price_factor(con: duckdb.DuckDBPyConnection, from_year: str, to_year: str) -> float:
    rows = dict(
        con.execute(
            "SELECT financial_year, idx FROM deflators WHERE financial_year IN (?, ?)",
            [from_year, to_year],
        ).fetchall()
    )
    if from_year not in rows or to_year not in rows:
        missing = from_year if from_year not in rows else to_year
        raise DemandError(f"there is no deflator for {missing}")
    return float(rows[to_year]) / float(rows[from_year])


def _costed_events_sql(price_year: str, period: Period) -> tuple[str, list[object]]:
    where, params = period.sql()
    sql = f"""
        SELECT l.person_id, s.partner, s.service, r.source, r.cost_item,
               u.cost_gbp * (dt.idx / df.idx) AS cost
        FROM records r
        JOIN person_links l USING (source, record_id)
        JOIN sources s ON s.name = r.source
        LEFT JOIN unit_costs u ON u.code = r.cost_item
        LEFT JOIN deflators df ON df.financial_year = u.price_year
        LEFT JOIN deflators dt ON dt.financial_year = ?
        WHERE {where}
    """  # noqa: S608
    return sql, [price_year, *params]


def demand_by_service(
    con: duckdb.DuckDBPyConnection,
    price_year: str = DEFAULT_PRICE_YEAR,
    period: Period | None = None,
) -> pd.DataFrame:
    """Per service: persons, events, events per person, and cost in one price year."""
    _check_year(con, price_year)
    sql, params = _costed_events_sql(price_year, period or Period())
    return con.execute(
        f"""
        SELECT partner, service, count(DISTINCT person_id) AS persons, count(*) AS events,
               count(*) / count(DISTINCT person_id) AS events_per_person,
               sum(cost) AS cost, count(*) FILTER (WHERE cost IS NULL) AS uncosted_events,
               max(cost) AS max_unit_cost
        FROM ({sql}) GROUP BY partner, service ORDER BY cost DESC NULLS LAST, service
        """,  # noqa: S608
        params,
    ).df()


def cohort_partner_costs(
    con: duckdb.DuckDBPyConnection,
    price_year: str = DEFAULT_PRICE_YEAR,
    period: Period | None = None,
    selected: list[Cohort] | None = None,
) -> pd.DataFrame:
    """Long table: cohort, partner, persons, events, cost — who bears each cohort's cost."""
    _check_year(con, price_year)
    events_sql, event_params = _costed_events_sql(price_year, period or Period())
    everyone = Cohort("all", "All persons", (), 1, True)
    scopes = [everyone, *(selected if selected is not None else cohorts(con))]
    # The costed events are made once and joined to every cohort's members (and the place's):
    # one query per cohort joined a million events to their records and persons each time.
    parts, member_params = [], []
    for i, cohort in enumerate(scopes):
        if cohort is everyone:  # every linked person, needs recorded or not
            parts.append(f"SELECT {i} AS scope, person_id FROM person_links")
            continue
        members_sql, params = cohort_members_sql(cohort)
        parts.append(f"SELECT {i} AS scope, person_id FROM ({members_sql})")  # noqa: S608
        member_params += params
    frame = con.execute(
        f"""
        WITH e AS MATERIALIZED ({events_sql}),
        m AS (SELECT DISTINCT scope, person_id FROM ({" UNION ALL ".join(parts)}))
        SELECT m.scope, e.partner, count(DISTINCT e.person_id) AS persons, count(*) AS events,
               coalesce(sum(e.cost), 0) AS cost, max(e.cost) AS max_unit_cost
        FROM e JOIN m USING (person_id)
        GROUP BY m.scope, e.partner ORDER BY m.scope, e.partner
        """,  # noqa: S608
        [*event_params, *member_params],
    ).df()
    scope = frame.pop("scope")
    frame.insert(0, "label", [scopes[int(i)].label for i in scope])
    frame.insert(0, "cohort", [scopes[int(i)].name for i in scope])
    return frame
