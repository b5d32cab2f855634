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
from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import demand, network, overlaps
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import control_counts, control_money, control_vector

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


def cohorts_table(con: duckdb.DuckDBPyConnection, ctx: PlaceContext, controlled: bool = True) -> pd.DataFrame:
    frame = cohort_mod.prevalence(con, ctx.adult_population)
    if controlled:
        frame["persons"] = control_counts(frame["persons"].tolist(), ctx.rule)
        frame["per_1000_adults"] = [
            round(1000 * p / ctx.adult_population, 2) if p is not None and ctx.adult_population
            else None
            for p in frame["persons"]
        ]  # fmt: skip
    return frame


def overlaps_table(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, controlled: bool = True, kind: str = "need"
) -> pd.DataFrame:
    frame = overlaps.need_combinations(con) if kind == "need" else overlaps.service_combinations(con)
    if controlled and not frame.empty:
        counts, total = control_vector(frame["persons"].tolist(), ctx.rule)
        frame["persons"] = pd.Series(counts, dtype=object)
        frame["n_items"] = frame["n_items"].astype(object)
        frame.loc[len(frame)] = ["Total", None, total]
    return frame


def costs_table(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    controlled: bool = True,
    price_year: str = demand.DEFAULT_PRICE_YEAR,
    period: demand.Period | None = None,
) -> pd.DataFrame:
    frame = demand.cohort_partner_costs(con, price_year, period)
    frame["price_year"] = price_year
    if controlled and not frame.empty:
        _control_cost_events_persons(frame, ctx)
    return frame


def _control_cost_events_persons(frame: pd.DataFrame, ctx: PlaceContext) -> list[bool]:
    """Control a frame's cost, events and persons columns in place; returns which rows
    stand for too few persons to show (their cost and events are hidden)."""
    small = [ctx.rule.is_small(int(p)) for p in frame["persons"]]
    frame["cost"] = [
        control_money(c, p, ctx.rule) if c == c else None  # c != c: no cost known (NaN)
        for c, p in zip(frame["cost"], frame["persons"], strict=True)
    ]
    frame["events"] = [
        None if s else ctx.rule.round(int(e)) for s, e in zip(small, frame["events"], strict=True)
    ]
    frame["persons"] = control_counts(frame["persons"].tolist(), ctx.rule)
    return small


def demand_table(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    controlled: bool = True,
    price_year: str = demand.DEFAULT_PRICE_YEAR,
    period: demand.Period | None = None,
) -> pd.DataFrame:
    """Per service: persons, events, events per person and cost over the period."""
    frame = demand.demand_by_service(con, price_year, period)
    frame["price_year"] = price_year
    if controlled and not frame.empty:
        small = _control_cost_events_persons(frame, ctx)
        # Events per person from the controlled counts, so it reveals nothing they do not.
        frame["events_per_person"] = [
            round(e / p, 2) if e is not None and p else None
            for e, p in zip(frame["events"], frame["persons"], strict=True)
        ]
        frame["uncosted_events"] = [
            None if s else ctx.rule.round(int(u))
            for s, u in zip(small, frame["uncosted_events"], strict=True)
        ]
    return frame


def network_table(con: duckdb.DuckDBPyConnection, ctx: PlaceContext, controlled: bool = True) -> pd.DataFrame:
    frame = network.service_network(con, ctx.collaborating_partners)
    if controlled and not frame.empty:
        for column in ("shared", "caseload_a", "caseload_b"):
            frame[column] = control_counts(frame[column].tolist(), ctx.rule)
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
    name: str, con: duckdb.DuckDBPyConnection, ctx: PlaceContext, controlled: bool = True
) -> pd.DataFrame:
    if name == "links":
        return links_table(con)
    if name == "cohorts":
        return cohorts_table(con, ctx, controlled)
    if name == "overlaps":
        return overlaps_table(con, ctx, controlled)
    if name == "costs":
        return costs_table(con, ctx, controlled)
    if name == "demand":
        return demand_table(con, ctx, controlled)
    if name == "network":
        return network_table(con, ctx, controlled)
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
