"""Tables for export and display, with disclosure control applied unless asked otherwise.

Every function returns a DataFrame ready to write; ``controlled=True`` (the default) is what
leaves the analyst role. Person-level tables (links) have no controlled form: callers must
check the role and write the audit log.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from joinedup.csvsafe import write_frame
from joinedup.insight import controlled as families
from joinedup.insight import demand, overlaps
from joinedup.insight.cohort_rules import Cohort
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import control_counts
from joinedup.insight.periods import FinancialYear, available_years
from joinedup.insight.summary import cohort_prevalence, service_network

__all__ = [
    "TABLES",
    "cohorts_table",
    "costs_table",
    "links_table",
    "network_table",
    "overlaps_table",
    "write_table",
]

TABLES = ("links", "cohorts", "overlaps", "costs", "demand", "network")


def links_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """source, record_id, person_id for every record (person-level)."""
    return con.execute(
        """
        SELECT r.source, r.record_id, l.person_id
        FROM records r LEFT JOIN person_links l USING (source, record_id)
        ORDER BY r.source, r.record_id
        """
    ).df()


def cohorts_table(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, controlled: bool = True, extra: Cohort | None = None
) -> pd.DataFrame:
    """Persons in each cohort; with ``extra`` (a dashboard filter), those who are also in it."""
    frame = cohort_prevalence(con, ctx)
    if controlled:
        # Cohorts are sums of combinations of needs and services: one family with them.
        figures = families.need_figures(con, ctx, extra)
        frame["persons"] = pd.Series([figures.cohorts.get(str(c)) for c in frame["cohort"]], dtype=object)
        frame["per_1000_adults"] = [
            round(1000 * p / ctx.adult_population, 2) if p is not None and ctx.adult_population
            else None
            for p in frame["persons"]
        ]  # fmt: skip
    return frame


def overlaps_table(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    controlled: bool = True,
    kind: str = "need",
    extra: Cohort | None = None,
) -> pd.DataFrame:
    if controlled:
        figures = controlled_figures(con, ctx, kind, extra)
        return figures.combinations.copy()
    return overlaps.need_combinations(con) if kind == "need" else overlaps.service_combinations(con)


def controlled_figures(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, kind: str, extra: Cohort | None = None
) -> families.NeedFigures | families.ServiceFigures:
    if kind == "need":
        return families.need_figures(con, ctx, extra)
    return families.service_figures(con, ctx, extra)


def _period(year: FinancialYear | None) -> demand.Period:
    return demand.Period(year.start, year.end) if year else demand.Period()


def costs_table(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    controlled: bool = True,
    price_year: str = demand.DEFAULT_PRICE_YEAR,
    year: FinancialYear | None = None,
    extra: Cohort | None = None,
) -> pd.DataFrame:
    """Cohort × partner: persons, events and cost in a financial year (all years for analysts'
    own uncontrolled tables only); with ``extra``, of the persons in it."""
    frame = demand.cohort_partner_costs(con, price_year, _period(year))
    frame["price_year"] = price_year
    frame["financial_year"] = year.label if year else "all"
    if controlled and not frame.empty:
        rule = ctx.rule
        _demand, partner_totals = families.controlled_demand(con, ctx, price_year, _period(year), extra)
        # Each cohort's events and cost by partner come from the same family as the place's
        # demand, so that no cohort minus the place, or cohort minus cohort, narrows a figure.
        figures = families.demand_figures(con, ctx, price_year, _period(year), extra)
        by_cohort = {(name, str(r["partner"])): r for name, b in figures.cohorts.items() for r in b.partners}
        everyone = frame["cohort"] == "all"
        missing: dict[str, object] = {"events": 0, "cost": 0.0} if extra is not None else {}
        frame["events"] = pd.Series([
            partner_totals.get(str(pt), missing).get("events") if all_
            else by_cohort.get((str(c), str(pt)), missing).get("events")
            for all_, c, pt in zip(everyone, frame["cohort"], frame["partner"], strict=True)
        ], dtype=object)  # fmt: skip
        frame["cost"] = pd.Series([
            partner_totals.get(str(pt), missing).get("cost") if all_
            else by_cohort.get((str(c), str(pt)), missing).get("cost")
            for all_, c, pt in zip(everyone, frame["cohort"], frame["partner"], strict=True)
        ], dtype=object)  # fmt: skip
        persons = control_counts(frame["persons"].tolist(), rule)
        # A partner's persons bound its services' from above and below (Σ ≥ partner ≥ each):
        # with one of its services hidden, the partner's own count is hidden too. A cohort's
        # persons by partner are not published: they would be a second, uncontrolled family.
        frame["persons"] = pd.Series(
            [
                (None if partner_totals.get(str(pt), {}).get("hidden_parts") else p)
                if all_ and extra is None
                else None
                for all_, pt, p in zip(everyone, frame["partner"], persons, strict=True)
            ],
            dtype=object,
        )
    return frame.drop(columns=["max_unit_cost"])


def demand_table(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    controlled: bool = True,
    price_year: str = demand.DEFAULT_PRICE_YEAR,
    year: FinancialYear | None = None,
    extra: Cohort | None = None,
) -> pd.DataFrame:
    """Per service: persons, events, events per person and cost in a financial year."""
    if controlled:
        frame, _totals = families.controlled_demand(con, ctx, price_year, _period(year), extra)
    else:
        frame = demand.demand_by_service(con, price_year, _period(year)).drop(columns=["max_unit_cost"])
    frame["price_year"] = price_year
    frame["financial_year"] = year.label if year else "all"
    return frame


def network_table(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, controlled: bool = True, extra: Cohort | None = None
) -> pd.DataFrame:
    frame = service_network(con, ctx)
    if controlled and not frame.empty:
        # Caseloads and shared persons are sums of combinations of services: one family.
        figures = families.service_figures(con, ctx, extra)
        frame["shared"] = pd.Series(
            [
                figures.shared.get(frozenset((a, b)))
                for a, b in zip(frame["source_a"], frame["source_b"], strict=True)
            ],
            dtype=object,
        )
        frame["caseload_a"] = pd.Series([figures.caseload.get(a) for a in frame["source_a"]], dtype=object)
        frame["caseload_b"] = pd.Series([figures.caseload.get(b) for b in frame["source_b"]], dtype=object)
        # Shares from controlled counts, so they reveal nothing the counts do not.
        frame["share_of_a"] = [
            round(s / a, 3) if s is not None and a else None
            for s, a in zip(frame["shared"], frame["caseload_a"], strict=True)
        ]
        frame["share_of_b"] = [
            round(s / b, 3) if s is not None and b else None
            for s, b in zip(frame["shared"], frame["caseload_b"], strict=True)
        ]
    return frame


def build(
    name: str,
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    controlled: bool = True,
    year: FinancialYear | None = None,
    extra: Cohort | None = None,
) -> pd.DataFrame:
    """A table by name; ``year`` applies to costs and demand. Controlled figures are only
    ever for one financial year (the newest, unless another is chosen). ``extra`` (a
    dashboard filter, controlled figures only) restricts every table to its persons."""
    if extra is not None and not controlled:
        raise ValueError("filters apply to controlled tables only")
    if controlled and year is None and name in {"costs", "demand"}:
        years = available_years(con)
        year = years[0] if years else None
    if name == "links":
        return links_table(con)
    if name == "cohorts":
        return cohorts_table(con, ctx, controlled, extra)
    if name == "overlaps":
        return overlaps_table(con, ctx, controlled, extra=extra)
    if name == "costs":
        return costs_table(con, ctx, controlled, year=year, extra=extra)
    if name == "demand":
        return demand_table(con, ctx, controlled, year=year, extra=extra)
    if name == "network":
        return network_table(con, ctx, controlled, extra)
    raise ValueError(f"unknown table {name!r} (choose from {', '.join(TABLES)})")


COUNT_COLUMNS = frozenset(
    {"persons", "events", "cost", "shared", "caseload_a", "caseload_b", "per_1000_adults",
     "share_of_a", "share_of_b", "events_per_person", "uncosted_events"}
)  # fmt: skip


def write_table(frame: pd.DataFrame, out: Path) -> None:
    """CSV (suppressed counts written as *) or Parquet (suppressed counts null).

    CSV goes through joinedup.csvsafe: names that start like a formula (a partner called
    ``=HYPERLINK(...)``) are neutralised, numbers stay numbers.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
        return
    text = frame.astype(object)
    for column in text.columns:
        fill = "*" if column in COUNT_COLUMNS else ""
        text[column] = text[column].where(text[column].notna(), fill)
    write_frame(text, out)
