"""The place's figures as they leave the analyst role, each family controlled as one.

Two families (see :mod:`joinedup.insight.cohort_figures` for their cells and lines):

- **persons**: every count of persons – combinations of needs and of services, persons in
  all, known to two or more and three or more services, each service's caseload and each
  pair's shared persons, and every cohort's size – over the exclusive combinations of
  services, needs and cohort memberships that refine them all.
- **demand in a financial year**: events and cost of each service and partner, for the
  place and for every cohort. Events and cost are hidden wherever the persons behind them are.

A dashboard filter joins both families as one more cohort (``extra``), so a filtered figure
is controlled with everything it could be subtracted from.

See :mod:`joinedup.insight.disclosure_family` for the method and why it resists subtraction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import duckdb
import pandas as pd

from joinedup.insight import cohort_figures, demand, figure_cache
from joinedup.insight import cohorts as cohort_mod
from joinedup.insight.cohort_rules import Cohort
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import control_counts

__all__ = [
    "NeedFigures", "ServiceFigures", "controlled_demand", "demand_figures", "need_figures",
    "person_figures", "service_figures",
]  # fmt: skip

SEPARATOR = cohort_figures.SEPARATOR
T = TypeVar("T")

# Controlling a family audits it with linear programmes (a few seconds for a large place), so
# the result is kept per data version (joinedup.insight.figure_cache): until the store's data,
# the place's costs or cohorts or its disclosure rule change.


def _fingerprint(con: duckdb.DuckDBPyConnection, ctx: PlaceContext, kind: str) -> tuple[object, ...]:
    return (kind, figure_cache.data_version(con, ctx))


def _cached(key: tuple[object, ...], make: Callable[[], T]) -> T:
    return figure_cache.figure_cache().get(("controlled", *key), make)


@dataclass
class NeedFigures:
    combinations: pd.DataFrame  # combination, n_items, persons (controlled; a Total row last)
    cohorts: dict[str, int | None]  # cohort name → controlled persons


@dataclass
class ServiceFigures:
    combinations: pd.DataFrame  # combination, n_items, persons (controlled; a Total row last)
    persons: int | None
    two_or_more: int | None
    three_or_more: int | None
    caseload: dict[str, int | None]  # source → controlled persons
    shared: dict[frozenset[str], int | None]  # pair of sources → controlled persons


def person_figures(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, extra: Cohort | None = None
) -> cohort_figures.PersonFamily:
    """Every person count, with every cohort's size (and ``extra``'s), as one family."""
    return _cached(
        (*_fingerprint(con, ctx, "persons"), extra),
        lambda: cohort_figures.person_family(con, ctx.rule, cohort_mod.cohorts(con), extra),
    )


def need_figures(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, extra: Cohort | None = None
) -> NeedFigures:
    """Need combinations and cohorts, controlled with every other count of persons."""
    figures = person_figures(con, ctx, extra)
    return NeedFigures(combinations=figures.need_combinations.copy(), cohorts=dict(figures.sizes))


def service_figures(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, extra: Cohort | None = None
) -> ServiceFigures:
    """Service combinations, persons, caseloads and pairs, controlled with every other count."""
    f = person_figures(con, ctx, extra)
    return ServiceFigures(
        combinations=f.service_combinations[["combination", "n_items", "persons"]].copy(),
        persons=f.persons, two_or_more=f.two_or_more, three_or_more=f.three_or_more,
        caseload=dict(f.caseload), shared=dict(f.shared),
    )  # fmt: skip


def _bounds(con: duckdb.DuckDBPyConnection, period: demand.Period) -> tuple[date, date]:
    if period.start and period.end:
        return period.start, period.end
    low, high = con.execute("SELECT min(event_date), max(event_date) FROM records").fetchall()[0]
    return period.start or low or date.min, period.end or high or date.max


def demand_figures(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    price_year: str,
    period: demand.Period,
    extra: Cohort | None = None,
) -> cohort_figures.DemandFamily:
    """Demand and cost of the place and of every cohort in a period, as one family."""
    start, end = _bounds(con, period)
    return _cached(
        (*_fingerprint(con, ctx, "demand"), price_year, start, end, extra),
        lambda: cohort_figures.demand_family(
            con, ctx.rule, cohort_mod.cohorts(con), price_year, start, end, extra
        ),
    )


def controlled_demand(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    price_year: str,
    period: demand.Period,
    extra: Cohort | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, float | int | bool | None]]]:
    """Demand per service in a period, controlled, and each partner's controlled totals
    (events, cost) as they must appear wherever a partner's whole demand is shown. With
    ``extra`` (a filter) the demand of its persons; their persons by service are then not
    shown, since they are not in the family."""
    rule = ctx.rule
    frame = demand.demand_by_service(con, price_year, period).reset_index(drop=True)
    if frame.empty:
        return frame.drop(columns=["max_unit_cost"]), {}
    place = demand_figures(con, ctx, price_year, period, extra).place
    by_service = {(r["partner"], r["service"]): r for r in place.services}
    # In a filtered view a service none of the filter's persons used had no events.
    missing: dict[str, object] = {"events": 0, "cost": 0.0} if extra is not None else {}
    out = frame.copy()
    pairs = zip(frame["partner"], frame["service"], strict=True)
    rows = [by_service.get((str(p), str(s)), missing) for p, s in pairs]
    out["events"] = pd.Series([r.get("events") for r in rows], dtype=object)
    out["cost"] = pd.Series([r.get("cost") for r in rows], dtype=object)
    out["uncosted_events"] = [
        None if r.get("events") is None or extra is not None else rule.round(int(u))
        for r, u in zip(rows, frame["uncosted_events"], strict=True)
    ]
    persons = control_counts(frame["persons"].tolist(), rule) if extra is None else [None] * len(frame)
    out["persons"] = pd.Series(persons, dtype=object)
    # Events per person from the controlled counts, so it reveals nothing they do not.
    out["events_per_person"] = [
        round(e / p, 2) if e is not None and p else None
        for e, p in zip(out["events"], out["persons"], strict=True)
    ]
    totals: dict[str, dict[str, float | int | bool | None]] = {}
    for partner in place.partners:
        name = str(partner["partner"])
        parts = [r for r in place.services if r["partner"] == name]
        totals[name] = {
            "events": partner["events"],  # type: ignore[dict-item]
            "cost": partner["cost"],  # type: ignore[dict-item]
            "hidden_parts": any(r["events"] is None for r in parts),
        }
    return out.drop(columns=["max_unit_cost"]), totals
