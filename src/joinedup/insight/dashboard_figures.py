"""What the dashboard publishes — its tables and charts — kept per data version, and warmed
after a change so that the first person to look does not wait for the linear programmes.

Everything here is disclosure-controlled (it comes from :mod:`joinedup.insight.export`);
see :mod:`joinedup.insight.figure_cache` for the data version and the memory bound.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from joinedup import background
from joinedup.insight import charts, count_doubt, export, figure_cache
from joinedup.insight import controlled as families
from joinedup.insight.cohort_rules import Cohort
from joinedup.insight.context import PlaceContext, place_context
from joinedup.insight.households import HouseholdFigures, household_figures
from joinedup.insight.periods import FinancialYear, available_years
from joinedup.insight.quarterly import quarterly_demand

__all__ = [
    "CHARTS",
    "DashboardTables",
    "chart_svg",
    "dashboard_tables",
    "households",
    "warm",
    "warm_in_background",
    "warm_place",
]

logger = logging.getLogger(__name__)

CHARTS = ("cohorts", "overlaps", "costs", "network")


@dataclass(frozen=True)
class DashboardTables:
    cohorts: pd.DataFrame
    overlaps: pd.DataFrame
    costs: pd.DataFrame
    demand: pd.DataFrame
    network: pd.DataFrame


def _label(year: FinancialYear | None) -> str | None:
    return year.label if year else None


def dashboard_tables(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, year: FinancialYear | None,
    extra: Cohort | None = None,
) -> DashboardTables:
    """The dashboard's controlled tables for a financial year, filtered by ``extra`` (a cohort
    made for the request) when given; callers must not change them."""
    return figure_cache.cached(con, ctx, ("dashboard", _label(year), extra), lambda: DashboardTables(
        cohorts=export.cohorts_table(con, ctx, extra=extra),
        overlaps=export.overlaps_table(con, ctx, extra=extra),
        costs=export.costs_table(con, ctx, year=year, extra=extra),
        demand=export.demand_table(con, ctx, year=year, extra=extra),
        network=export.network_table(con, ctx, extra=extra),
    ))  # fmt: skip


def households(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, year: FinancialYear | None
) -> HouseholdFigures | None:
    """A year's households (Think Family), controlled as their own family; whole place only."""
    if year is None:
        return None
    return figure_cache.cached(con, ctx, ("households", year.label),
                               lambda: household_figures(con, ctx, year))  # fmt: skip


def _chart_spec(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, name: str, year: FinancialYear | None,
    colours: Mapping[str, str] | None, extra: Cohort | None,
) -> Any:
    if name == "cohorts":
        return charts.cohorts_chart(export.cohorts_table(con, ctx, extra=extra))
    if name == "overlaps":
        return charts.upset_chart(export.overlaps_table(con, ctx, extra=extra))
    if name == "costs":
        return charts.costs_chart(export.costs_table(con, ctx, year=year, extra=extra), colours=colours)
    return charts.network_chart(export.network_table(con, ctx, extra=extra), colours=colours)


def chart_svg(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, name: str, year: FinancialYear | None,
    colours: Mapping[str, str] | None = None, extra: Cohort | None = None,
) -> str:
    """A chart drawn once per data version and filter (Vega takes 0.1–0.8 s); only costs
    have a year.
    Partners' colours (from the registry) are part of the key: a partner added later gets its
    own colour without changing anyone else's."""
    if name not in CHARTS:
        raise ValueError(f"unknown chart {name!r}")
    shown = year if name == "costs" else None
    palette = tuple(sorted((colours or {}).items())) if name in {"costs", "network"} else ()
    return figure_cache.cached(
        con, ctx, ("chart", name, _label(shown), palette, extra),
        lambda: charts.to_svg(_chart_spec(con, ctx, name, shown, colours, extra)),
    )


def warm(con: duckdb.DuckDBPyConnection, ctx: PlaceContext,
         colours: Mapping[str, str] | None = None) -> None:
    """Compute what the dashboard shows first: both families, the newest year's tables and
    every chart; then the controlled quarters (the overview's quarters page and the board
    pack), whose audit against each year is the slowest figure of all. Later years are
    computed when someone chooses them."""
    families.need_figures(con, ctx)
    families.service_figures(con, ctx)
    years = available_years(con)
    newest = years[0] if years else None
    dashboard_tables(con, ctx, newest)
    for name in CHARTS:
        chart_svg(con, ctx, name, newest, colours)
    count_doubt.cached(con, ctx)
    quarterly_demand(con, ctx)


def warm_place(settings: Any, slug: str) -> None:
    """Open the place's store and warm its figures; failures are logged, never raised."""
    from joinedup.insight.pipeline import store_options
    from joinedup.insight.store import open_store

    try:
        ctx = place_context(slug, settings)
        colours = _registry_colours(settings, slug)
        with open_store(Path(settings.insight_dir), slug, **store_options(settings)) as con:
            (persons,) = con.execute("SELECT count(*) FROM person_links").fetchall()[0]
            if persons:
                warm(con, ctx, colours)
    except Exception:  # warming is a courtesy: the first request computes what it lacks
        logger.warning("could not warm the figures of %s", slug, exc_info=True)


def _registry_colours(settings: Any, slug: str) -> dict[str, str]:
    """The place's partner colours from the app database, as the chart route passes them."""
    from joinedup.db.session import session_scope
    from joinedup.places.colours import partner_colours
    from joinedup.places.service import get_place

    with session_scope(settings) as session:
        place = get_place(session, slug)
        return partner_colours(session, place) if place is not None else {}


# Places being warmed, each with whether it changed again since its warm began.
_warming: dict[str, bool] = {}
_warming_lock = threading.Lock()


def warm_in_background(settings: Any, slug: str) -> threading.Thread | None:
    """Warm the place's figures in a daemon thread (after a link run, an ingest or an edit).

    One warm per place at a time: a change while one runs asks it to warm once more when it
    ends (what it computed may be stale), rather than starting a second thread that competes
    with the first, and with the people using the app, for the same CPU. Several quick edits
    (a lead setting unit costs one by one) then cost two warms, not one each. Returns the
    thread started, or None when the running one will warm again."""
    with _warming_lock:
        if slug in _warming:
            _warming[slug] = True
            return None
        _warming[slug] = False
    return background.start(_warm_until_settled, settings, slug, name=f"warm-{slug}")


def _warm_until_settled(settings: Any, slug: str) -> None:
    again = True
    try:
        while again:
            warm_place(settings, slug)
            with _warming_lock:
                again = _warming.get(slug, False)
                _warming[slug] = False
    finally:
        with _warming_lock:
            _warming.pop(slug, None)
