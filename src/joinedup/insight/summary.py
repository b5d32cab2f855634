"""The headline figures of a place's insight, for the CLI and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import demand, figure_cache, network, overlaps
from joinedup.insight.context import PlaceContext
from joinedup.insight.store import one

__all__ = ["Headline", "cohort_prevalence", "headline", "service_network"]


@dataclass
class Headline:
    sources: int = 0
    records: int = 0
    quarantined: int = 0
    persons: int = 0
    known_to: dict[int, int] = field(default_factory=dict)
    cohorts: list[dict[str, object]] = field(default_factory=list)
    total_cost: float = 0.0
    price_year: str = demand.DEFAULT_PRICE_YEAR
    ships_in_the_night: int = 0
    last_run: dict[str, object] | None = None

    @property
    def known_to_two_or_more(self) -> int:
        return sum(n for k, n in self.known_to.items() if k >= 2)

    @property
    def known_to_three_or_more(self) -> int:
        return sum(n for k, n in self.known_to.items() if k >= 3)


def last_run(con: duckdb.DuckDBPyConnection) -> dict[str, object] | None:
    row = one(
        con.execute(
            "SELECT run_id, started_at, finished_at, backend, status, stage, message, n_records, "
            "n_comparisons, n_persons, n_merges, n_splits, threshold FROM link_runs "
            "ORDER BY run_id DESC LIMIT 1"
        )
    )
    if row is None:
        return None
    keys = ["run_id", "started_at", "finished_at", "backend", "status", "stage", "message",
            "n_records", "n_comparisons", "n_persons", "n_merges", "n_splits", "threshold"]  # fmt: skip
    return dict(zip(keys, row, strict=True))


# The headline and the cohorts and network tables read the same two frames; each is worked
# out once per data version (half a second each at a million records). Callers get a copy,
# since the tables add their controlled columns to it.
def cohort_prevalence(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> pd.DataFrame:
    """``cohorts.prevalence`` of the place."""
    prevalence = figure_cache.cached(
        con, ctx, ("prevalence",), lambda: cohort_mod.prevalence(con, ctx.adult_population)
    )
    return prevalence.copy()


def service_network(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> pd.DataFrame:
    """``network.service_network`` of the place's collaborating partners."""
    frame = figure_cache.cached(
        con, ctx, ("network",), lambda: network.service_network(con, ctx.collaborating_partners)
    )
    return frame.copy()


def headline(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> Headline:
    """Unrounded headline figures; apply disclosure control before they leave the analyst."""
    h = Headline()
    h.sources, h.records = one(
        con.execute("SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM records)")
    ) or (0, 0)
    (h.quarantined,) = one(con.execute("SELECT count(*) FROM quarantine")) or (0,)
    (h.persons,) = one(con.execute("SELECT count(DISTINCT person_id) FROM person_links")) or (0,)
    h.last_run = last_run(con)
    if not h.persons:
        return h
    known = overlaps.known_to_services(con)
    h.known_to = {int(k): int(n) for k, n in zip(known["n_services"], known["persons"], strict=True)}
    prev = cohort_prevalence(con, ctx)
    h.cohorts = [{str(k): v for k, v in r.items()} for r in prev.to_dict("records")]
    costs = demand.cohort_partner_costs(con, h.price_year, selected=[])
    h.total_cost = float(costs["cost"].sum())
    net = service_network(con, ctx)
    h.ships_in_the_night = int(net["ships_in_the_night"].sum()) if not net.empty else 0
    return h
