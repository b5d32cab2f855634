"""The attacker of quarterly demand: a viewer differences the quarters against what the
dashboard already shows.

The place: the emergency department (£250 an event) sees 38 persons in Q1 2024-25 and only
three in Q3 – the small cell to protect. Housing Options (£100) sees 20, 20, 38 and 20 persons
in the four quarters, police custody (£400) 20 in Q2 and in Q4. Each person has one event.
The numbers are chosen so that rounding alone does not save the small cell: 41 and 38 both
round to 40, as do 41 and 38 again in Q3's total.

The viewer sees the quarter tables (each service's events and cost per quarter, everyone's
events and cost per quarter) and the dashboard's year (each service's events and cost, the
place's events), and tries:

1. the year minus the other quarters (the emergency department's 2024-25 events minus its
   shown quarters);
2. a total minus its parts (everyone's events in Q3 minus the services shown in Q3);
3. money divided by the known unit cost (the department's costs ÷ £250).

Each must narrow a naive publication's hidden cell (small counts hidden, the rest rounded to
5 one by one, money to £100) to less than 1 .. 7, and must not narrow the engine's at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pytest

from joinedup.insight import controlled, demand
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.periods import FinancialYear
from joinedup.insight.quarterly import quarterly_demand
from tests.support.attacker import Attacker
from tests.support.quarter_place import DAYS, PLAN, SOURCES, build_quarter_place

RULE = DisclosureRule()
HALF, EPS = 2.5, 1e-6
YEAR = FinancialYear(2024)
TRUE = {(SOURCES[s][1], q): n for s, day, n, _e in PLAN for q, d in DAYS.items() if d == day}
PRICE = {service: cost for _p, service, _n, _i, cost in SOURCES.values()}
ED = "Emergency Department"
SMALL = (ED, 3)
KINDS = ("year minus quarters", "total minus parts", "cost divided by unit cost")


@dataclass(frozen=True)
class Published:
    """A figure a viewer sees: the (service, quarter) cells it adds up, its value, and how
    far from the truth it may be (known from the method, which is public)."""

    kind: str  # which attack it serves
    cells: tuple[tuple[str, int], ...]
    value: float | None
    slack: float
    money: bool = False


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = build_quarter_place(tmp_path_factory.mktemp("attack") / "attack.duckdb", PLAN)
    yield con
    con.close()


def _cells(service: str | None, quarter: int | None) -> tuple[tuple[str, int], ...]:
    return tuple(
        k for k in TRUE if (service is None or k[0] == service) and (quarter is None or k[1] == quarter)
    )


def _parts(cells: tuple[tuple[str, int], ...]) -> int:
    # The family's cells in a line: every person of a service here has the same cohort
    # memberships, so one cell per service (and per quarter in the quarter family).
    return len(cells)


def published_by_engine(con: duckdb.DuckDBPyConnection) -> list[Published]:
    ctx = PlaceContext("attack", rule=RULE)
    q = quarterly_demand(con, ctx)
    numbers = [qq.number for qq in q.quarters if qq.year == YEAR]
    index = {qq.number: k for k, qq in enumerate(q.quarters) if qq.year == YEAR}
    out: list[Published] = []
    for row in q.services:
        for n in numbers:
            cell, cells = row.cells[index[n]], _cells(row.key, n)
            if not cells:
                continue
            slack = HALF * (_parts(cells) + 1)
            out.append(Published(KINDS[0], cells, cell.events, slack))
            out.append(Published(KINDS[1], cells, cell.events, slack))
            out.append(Published(KINDS[2], cells, cell.cost, HALF * PRICE[row.key] + 50, money=True))
    everyone = q.cohorts[0]
    for n in numbers:
        cells = _cells(None, n)
        out.append(Published(KINDS[1], cells, everyone.cells[index[n]].events, HALF * (_parts(cells) + 1)))
    year = controlled.demand_figures(con, ctx, demand.DEFAULT_PRICE_YEAR, demand.Period(YEAR.start, YEAR.end))
    for r in year.place.services:
        cells = _cells(str(r["service"]), None)
        events = None if r["events"] is None else float(str(r["events"]))
        cost = None if r["cost"] is None else float(str(r["cost"]))
        out.append(Published(KINDS[0], cells, events, HALF * 2))
        out.append(Published(KINDS[2], cells, cost, HALF * PRICE[str(r["service"])] + 50, money=True))
    total = year.place.total["events"]
    out.append(
        Published(KINDS[1], _cells(None, None), None if total is None else float(str(total)), HALF * 4)
    )
    return out


def published_naively(_con: duckdb.DuckDBPyConnection) -> list[Published]:
    """Every figure on its own: persons below 8 hidden, events rounded to 5, money to £100."""

    def one(kind: str, cells: tuple[tuple[str, int], ...], money: bool = False) -> Published:
        events = sum(TRUE[c] for c in cells)
        if RULE.is_small(events):  # one event each, so persons are events
            return Published(kind, cells, None, 0.0, money)
        if money:
            return Published(
                kind, cells, float(round(sum(TRUE[c] * PRICE[c[0]] for c in cells), -2)), 50.0, True
            )
        return Published(kind, cells, float(RULE.round(events)), HALF)

    out: list[Published] = []
    for service in PRICE:
        for n in DAYS:
            if _cells(service, n):
                out += [one(KINDS[0], _cells(service, n)), one(KINDS[1], _cells(service, n)),
                        one(KINDS[2], _cells(service, n), money=True)]  # fmt: skip
        out += [one(KINDS[0], _cells(service, None)), one(KINDS[2], _cells(service, None), money=True)]
    out += [one(KINDS[1], _cells(None, n)) for n in DAYS]
    return out


def narrowed(figures: list[Published], kinds: tuple[str, ...]) -> tuple[float, float]:
    """The range the attacker can pin the small cell to from the figures of ``kinds``."""
    att = Attacker(HALF)
    for cell in TRUE:
        att.var(f"{cell}", 0.0)
    for f in figures:
        if f.kind not in kinds or f.value is None:
            continue
        coefs = [(f"{c}", PRICE[c[0]] if f.money else 1.0) for c in f.cells]
        att.between(coefs, f.value - f.slack, f.value + f.slack)
    # A hidden figure is at least 1: that is all the rule promises to give away.
    for f in figures:
        if f.kind in kinds and f.value is None and len(f.cells) == 1:
            att.var(f"{f.cells[0]}", 1.0)
    assert att.feasible(), "the published figures contradict the attacker's model of them"
    return att.range(f"{SMALL}")


def leaks(lo: float, hi: float) -> bool:
    return lo > 1 + EPS or hi < RULE.threshold - 1 - EPS


@pytest.mark.parametrize("kind", KINDS)
def test_each_attack_recovers_the_cell_from_a_naive_publication(
    place: duckdb.DuckDBPyConnection, kind: str
) -> None:
    lo, hi = narrowed(published_naively(place), (kind,))
    assert leaks(lo, hi), f"{kind}: only narrowed to {lo:.2f}..{hi:.2f}"


def test_no_attack_narrows_the_cell_in_what_the_engine_publishes(place: duckdb.DuckDBPyConnection) -> None:
    figures = published_by_engine(place)
    small = [f for f in figures if f.cells == (SMALL,)]
    assert small and all(f.value is None for f in small), "the small cell itself is shown"
    for kind in KINDS:
        lo, hi = narrowed(figures, (kind,))
        assert not leaks(lo, hi), f"{kind}: narrowed to {lo:.2f}..{hi:.2f}"
    lo, hi = narrowed(figures, KINDS)
    assert not leaks(lo, hi), f"all together: narrowed to {lo:.2f}..{hi:.2f}"
    # Not by hiding everything: custody, which nothing small touches, is shown every quarter.
    custody = [f for f in figures if f.cells and f.cells[0][0] == "Police Custody" and f.kind == KINDS[0]]
    assert custody and all(f.value is not None for f in custody)


def test_the_year_on_the_dashboard_is_still_shown(place: duckdb.DuckDBPyConnection) -> None:
    """The quarters are protected without taking the year away from the dashboard."""
    ctx = PlaceContext("attack", rule=RULE)
    year = controlled.demand_figures(
        place, ctx, demand.DEFAULT_PRICE_YEAR, demand.Period(YEAR.start, YEAR.end)
    )
    ed = next(r for r in year.place.services if r["service"] == ED)
    assert ed["events"] == 40
