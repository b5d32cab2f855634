"""A service small in every quarter but not in the year: its quarters are hidden, and the
place's quarter totals are not taken away with them.

The place: the emergency department (£250 an event) sees 2, 2, 3 and 2 persons in the four
quarters of 2024-25 – each quarter small, the year's 9 persons not, so the dashboard shows
the year. Housing Options (£100) sees 20, 20, 38 and 20, police custody (£400) 20 in Q2 and
in Q4. One event each.

Split by quarter, the department's year is four hidden cells holding 9 events, less than the
rule's "enough" (7 + 3 = 10) for a line it publishes. The year is on the dashboard whatever
the quarters do, so hiding it here would protect nothing; before, the engine did, and then
withheld every quarter figure touching it: the place's total in all four quarters. The audit
decides instead (it knows the year is published), and an attacker written apart from it, who
sees the quarters and the dashboard's year, cannot narrow any of the department's quarters.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from joinedup.insight import controlled, demand
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.periods import FinancialYear
from joinedup.insight.quarterly import quarterly_demand
from tests.support.attacker import Attacker
from tests.support.quarter_place import DAYS, SOURCES, build_quarter_place

RULE = DisclosureRule()
HALF, EPS = 2.5, 1e-6
YEAR = FinancialYear(2024)
ED = "Emergency Department"
PLAN = [
    ("ed", DAYS[1], 2, 1), ("ed", DAYS[2], 2, 1), ("ed", DAYS[3], 3, 1), ("ed", DAYS[4], 2, 1),
    ("housing", DAYS[1], 20, 1), ("housing", DAYS[2], 20, 1), ("housing", DAYS[3], 38, 1),
    ("housing", DAYS[4], 20, 1), ("custody", DAYS[2], 20, 1), ("custody", DAYS[4], 20, 1),
]  # fmt: skip
TRUE = {(SOURCES[s][1], q): n for s, day, n, _e in PLAN for q, d in DAYS.items() if d == day}
PRICE = {service: cost for _p, service, _n, _i, cost in SOURCES.values()}


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = build_quarter_place(tmp_path_factory.mktemp("small") / "small.duckdb", PLAN)
    yield con
    con.close()


def _cells(service: str | None, quarter: int | None) -> list[tuple[str, int]]:
    return [k for k in TRUE if (service is None or k[0] == service) and (quarter in (None, k[1]))]


def test_the_year_is_shown_and_its_quarters_hidden(place: duckdb.DuckDBPyConnection) -> None:
    ctx = PlaceContext("small", rule=RULE)
    year = controlled.demand_figures(
        place, ctx, demand.DEFAULT_PRICE_YEAR, demand.Period(YEAR.start, YEAR.end)
    )
    assert next(r for r in year.place.services if r["service"] == ED)["events"] == 10
    q = quarterly_demand(place, ctx)
    ed = next(r for r in q.services if r.key == ED)
    assert [c.events for c, qq in zip(ed.cells, q.quarters, strict=True) if qq.year == YEAR] == [None] * 4


def test_the_places_quarter_totals_stay_shown(place: duckdb.DuckDBPyConnection) -> None:
    q = quarterly_demand(place, PlaceContext("small", rule=RULE))
    everyone = [c.events for c, qq in zip(q.cohorts[0].cells, q.quarters, strict=True) if qq.year == YEAR]
    assert None not in everyone, everyone


def test_no_quarter_of_the_small_service_can_be_narrowed(place: duckdb.DuckDBPyConnection) -> None:
    """Everything a viewer sees: each service's quarters (events and cost), everyone's
    quarters, and the dashboard's year (each service's events and cost, the place's events).
    A published line of k cells is within 2.5 k of the truth (each shown cell rounded, and
    the hidden ones' sum rounded once). A quarter's cells are its services here (each person
    has one service), and the dashboard's year has one cell per service."""
    ctx = PlaceContext("small", rule=RULE)
    q = quarterly_demand(place, ctx)
    index = {qq.number: k for k, qq in enumerate(q.quarters) if qq.year == YEAR}
    att = Attacker(HALF)
    for cell in TRUE:
        att.var(str(cell), 0.0)

    def bound(cells: list[tuple[str, int]], value: float | None, slack: float, money: bool = False) -> None:
        if value is not None:
            att.between(
                [(str(c), PRICE[c[0]] if money else 1.0) for c in cells], value - slack, value + slack
            )
        elif len(cells) == 1:  # a hidden figure is at least 1: all the rule gives away
            att.var(str(cells[0]), 1.0)

    for row in q.services:
        for n, k in index.items():
            cells = _cells(row.key, n)
            if cells:
                bound(cells, row.cells[k].events, HALF)
                bound(cells, row.cells[k].cost, HALF * PRICE[row.key] + 50, money=True)
    for n, k in index.items():
        cells = _cells(None, n)
        bound(cells, q.cohorts[0].cells[k].events, HALF * len(cells))
    year = controlled.demand_figures(
        place, ctx, demand.DEFAULT_PRICE_YEAR, demand.Period(YEAR.start, YEAR.end)
    )
    for r in year.place.services:
        cells = _cells(str(r["service"]), None)
        bound(cells, None if r["events"] is None else float(str(r["events"])), HALF)
        bound(
            cells,
            None if r["cost"] is None else float(str(r["cost"])),
            HALF * PRICE[str(r["service"])] + 50,
            True,
        )
    total = year.place.total["events"]
    bound(_cells(None, None), None if total is None else float(str(total)), HALF * len(PRICE))
    assert att.feasible(), "the published figures contradict the attacker's model of them"
    for n in index:
        lo, hi = att.range(str((ED, n)))
        assert lo <= 1 + EPS and hi >= RULE.threshold - 1 - EPS, f"Q{n}: narrowed to {lo:.2f}..{hi:.2f}"


def test_everyones_hidden_cost_shows_what_the_shown_services_cost(place: duckdb.DuckDBPyConnection) -> None:
    """The department's quarters are hidden, and housing's with them (one hidden service
    under a shown total would be the total less the rest), so everyone's cost would give
    them away. Instead of nothing, the board reads "at least" the cost of the services it can
    see: in Q2 and Q4 custody's 20 events at £400 (by hand: £8,000); in Q1 and Q3 none is
    shown, so nothing. That is exactly the sum of the service rows shown beside it, so it
    tells nothing they do not, and it is never more than the true cost."""
    q = quarterly_demand(place, PlaceContext("small", rule=RULE))
    exact = quarterly_demand(place, PlaceContext("small", rule=RULE), exact=True)
    in_year = [i for i, qq in enumerate(q.quarters) if qq.year == YEAR]
    everyone = q.cohorts[0].cells
    assert [everyone[i].cost for i in in_year] == [None] * 4
    assert [everyone[i].cost_floor for i in in_year] == [None, 8000.0, None, 8000.0]
    for i in in_year:
        shown = sum(r.cells[i].cost or 0.0 for r in q.services if r.cells[i].events is not None)
        assert (everyone[i].cost_floor or 0.0) == shown
        assert (everyone[i].cost_floor or 0.0) <= (exact.cohorts[0].cells[i].cost or 0.0)
