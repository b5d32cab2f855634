"""The place's figures as they leave the analyst role, each family controlled as one.

Three families, because within each the published figures add up:

- **needs**: persons in each exclusive combination of needs; every cohort (and the table's
  total) is a sum of combinations.
- **services**: persons in each exclusive combination of services (sources); persons in all,
  known to two or more and three or more services, each service's caseload and each pair's
  shared persons are sums of combinations.
- **demand in a financial year**: events of each service; a partner's events and cost are the
  sums of its services'. Events and cost are hidden wherever the persons behind them are.

See :mod:`joinedup.insight.disclosure_family` for the method and why it resists subtraction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import duckdb
import pandas as pd

from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import demand, figure_cache, overlaps
from joinedup.insight.analysis import person_services_sql
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import Line, control_counts, control_family

__all__ = ["NeedFigures", "ServiceFigures", "controlled_demand", "need_figures", "service_figures"]

SEPARATOR = overlaps.SEPARATOR
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


def _with_total(frame: pd.DataFrame, cells: list[int | None], total: int | None) -> pd.DataFrame:
    out = frame[["combination", "n_items"]].copy()
    out["persons"] = pd.Series(cells, dtype=object, index=out.index)
    out["n_items"] = out["n_items"].astype(object)
    out.loc[len(out)] = ["Total", None, total]
    return out


def need_figures(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> NeedFigures:
    """Need combinations and cohorts, controlled as one family."""
    return _cached(_fingerprint(con, ctx, "needs"), lambda: _need_figures(con, ctx))


def _need_figures(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> NeedFigures:
    frame = overlaps.need_combinations(con)
    sets = [set(str(c).split(SEPARATOR)) for c in frame["combination"]]
    defined = cohort_mod.cohorts(con)
    lines = [Line(tuple(range(len(sets))), "total")]
    for cohort in defined:
        pool = set(cohort.needs)
        members = tuple(
            i for i, s in enumerate(sets) if len(s & pool if pool else s) >= cohort.min_needs
        )
        lines.append(Line(members, f"cohort {cohort.name}"))
    family = control_family(frame["persons"].tolist(), lines, ctx.rule)
    return NeedFigures(
        combinations=_with_total(frame, family.cells, family.totals[0]),
        cohorts={c.name: t for c, t in zip(defined, family.totals[1:], strict=True)},
    )


def service_figures(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> ServiceFigures:
    """Service combinations, persons, caseloads and pairs, controlled as one family."""
    return _cached(_fingerprint(con, ctx, "services"), lambda: _service_figures(con, ctx))


def _service_figures(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> ServiceFigures:
    frame = con.execute(
        f"""
        SELECT sources, combination, n_items, count(*) AS persons FROM (
            SELECT person_id, string_agg(source, '\t' ORDER BY source) AS sources,
                   string_agg(service, '{SEPARATOR}' ORDER BY source) AS combination,
                   count(*) AS n_items
            FROM ({person_services_sql}) GROUP BY person_id
        ) GROUP BY sources, combination, n_items ORDER BY persons DESC, combination
        """  # noqa: S608
    ).df()
    sets = [frozenset(str(s).split("\t")) for s in frame["sources"]]
    every = sorted(set().union(*sets)) if sets else []
    all_cells = tuple(range(len(sets)))
    lines = [
        Line(all_cells, "total"),
        Line(tuple(i for i, s in enumerate(sets) if len(s) >= 2), "two or more"),
        Line(tuple(i for i, s in enumerate(sets) if len(s) >= 3), "three or more"),
    ]
    lines += [Line(tuple(i for i, s in enumerate(sets) if src in s), f"caseload {src}") for src in every]
    pairs = [frozenset((a, b)) for k, a in enumerate(every) for b in every[k + 1 :]]
    lines += [Line(tuple(i for i, s in enumerate(sets) if p <= s), "shared") for p in pairs]
    family = control_family(frame["persons"].tolist(), lines, ctx.rule)
    t = family.totals
    n = len(every)
    return ServiceFigures(
        combinations=_with_total(frame, family.cells, t[0]),
        persons=t[0], two_or_more=t[1], three_or_more=t[2],
        caseload=dict(zip(every, t[3 : 3 + n], strict=True)),
        shared=dict(zip(pairs, t[3 + n :], strict=True)),
    )  # fmt: skip


def controlled_demand(
    con: duckdb.DuckDBPyConnection,
    ctx: PlaceContext,
    price_year: str,
    period: demand.Period,
) -> tuple[pd.DataFrame, dict[str, dict[str, float | int | bool | None]]]:
    """Demand per service in a period, controlled, and each partner's controlled totals
    (events, cost) as they must appear wherever a partner's whole demand is shown."""
    rule = ctx.rule
    frame = demand.demand_by_service(con, price_year, period).reset_index(drop=True)
    if frame.empty:
        return frame, {}
    partners = sorted(set(frame["partner"]))
    lines = [Line(tuple(i for i, p in enumerate(frame["partner"]) if p == name), name) for name in partners]
    primary = [rule.is_small(int(p)) for p in frame["persons"]]
    family = control_family(frame["events"].tolist(), lines, rule, primary)
    out = frame.copy()
    out["events"] = pd.Series(family.cells, dtype=object)
    out["cost"] = [
        None if hidden or c != c else rule.round_money(float(c), u if u == u else 1.0)
        for hidden, c, u in zip(family.hidden, frame["cost"], frame["max_unit_cost"], strict=True)
    ]
    out["uncosted_events"] = [
        None if hidden else rule.round(int(u))
        for hidden, u in zip(family.hidden, frame["uncosted_events"], strict=True)
    ]
    out["persons"] = pd.Series(control_counts(frame["persons"].tolist(), rule), dtype=object)
    # Events per person from the controlled counts, so it reveals nothing they do not.
    out["events_per_person"] = [
        round(e / p, 2) if e is not None and p else None
        for e, p in zip(out["events"], out["persons"], strict=True)
    ]
    totals: dict[str, dict[str, float | int | bool | None]] = {}
    for line, events_total in zip(lines, family.totals, strict=True):
        rows = list(line.cells)
        shown_cost = sum(float(out["cost"].iloc[i] or 0.0) for i in rows)
        # With a service hidden, the partner's cost is hidden too: beside its events it would
        # be a second equation in the hidden services' events (at different unit costs), and
        # two equations solve two unknowns. Otherwise it is the sum of its services' costs.
        hidden_any = any(family.hidden[i] for i in rows)
        totals[line.name] = {"events": events_total, "cost": None if hidden_any else shown_cost,
                             "hidden_parts": hidden_any}
    return out.drop(columns=["max_unit_cost"]), totals
