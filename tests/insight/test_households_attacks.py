"""The attacker of household figures, in the style of test_disclosure_attacks.py.

The dashboard publishes a year's households by size, their total, "two or more", and the
Think Family count (households of two or more linked persons whom three or more services
know between them), each size split the same way. A viewer subtracts: "two or more" minus
the Think Family count is the households of two or more that fewer services know. A place
is built to tempt exactly that (two such households), and the attack is run, by linear
programming, over everything published; it fails if a hidden small count can be narrowed
to less than the whole of 1 .. threshold-1.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import control_counts
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.households import HouseholdFigures, household_counts, household_figures
from joinedup.insight.periods import FinancialYear
from tests.support.attacker import Attacker

FY24 = FinancialYear(2024)
RULE = DisclosureRule(threshold=8, rounding=5)
HALF = RULE.rounding / 2
DAY = date(2024, 7, 1)


def _household(con: duckdb.DuckDBPyConnection, key: str, size: int, services: int, n: list[int]) -> None:
    """A household of `size` linked persons at one UPRN whom `services` services know."""
    for member in range(size):
        for source in range(services if member == 0 else 1):
            n[0] += 1
            con.execute(
                "INSERT INTO records (source, record_id, uprn, event_date) VALUES (?, ?, ?, ?)",
                [f"s{source}", str(n[0]), key, DAY],
            )
            con.execute(
                "INSERT INTO person_links VALUES (?, ?, ?)", [f"s{source}", str(n[0]), f"{key}-{member}"]
            )


def _tempting(con: duckdb.DuckDBPyConnection, few: int) -> None:
    """Twenty single persons; thirty-five households of two or more, of which `few` (small)
    are known to fewer than three services between them."""
    n = [0]
    for h in range(20):
        _household(con, f"one-{h}", 1, 1, n)
    for h, size in enumerate([2] * 13 + [3] * 10 + [4] * 6 + [5] * 6):
        _household(con, f"many-{h}", size, 1 if h < few else 3, n)


def _cells(figures: HouseholdFigures) -> dict[str, int | None]:
    return dict(zip(figures.cell_names, figures.cells, strict=True))


def _attack(figures: HouseholdFigures) -> Attacker:
    """Everything a viewer sees of a year's households, as an attacker's constraints: every
    published cell, and every published line (with the method: a line is its shown, rounded
    parts plus the rounded sum of its hidden parts)."""
    att = Attacker(HALF)
    cells = _cells(figures)
    for name, value in cells.items():
        att.shown(name, value)
    for members, total in figures.lines:
        if total is None:
            continue
        att.between([(m, 1.0) for m in members], total - HALF, total + HALF)
        hidden = [m for m in members if cells[m] is None]
        if hidden:
            rest = total - sum(float(cells[m] or 0) for m in members if cells[m] is not None)
            att.between([(m, 1.0) for m in hidden], rest - HALF, rest + HALF)
    return att


@pytest.mark.parametrize("few", [1, 2, 5])
def test_households_fewer_services_know_cannot_be_recovered(
    store: duckdb.DuckDBPyConnection, few: int
) -> None:
    _tempting(store, few)
    raw = household_counts(store, FY24)
    assert raw.two_or_more - raw.known_to_three_or_more == few  # the place is as built
    figures = household_figures(store, PlaceContext(slug="t", rule=RULE), FY24)
    assert figures.known_to_three_or_more is not None  # the Think Family count is published
    att = _attack(figures)
    assert att.feasible()
    for name, count in zip(figures.cell_names, raw.cells, strict=True):
        if RULE.is_small(count):
            low, high = att.range(name)
            assert low <= 1 + 1e-6 and high >= RULE.threshold - 1 - 1e-6, (name, low, high)


def test_the_attacker_recovers_them_when_each_figure_is_controlled_alone(
    store: duckdb.DuckDBPyConnection,
) -> None:
    """Without the family, "two or more" and the Think Family count, each rounded on its own,
    pin the difference down: the attack above is able to fail."""
    _tempting(store, 2)
    raw = household_counts(store, FY24)
    two, think = control_counts([raw.two_or_more, raw.known_to_three_or_more], RULE)
    assert two is not None and think is not None
    att = Attacker(HALF)
    att.var("fewer", 1.0)
    att.var("think", 0.0)
    att.between([("fewer", 1.0), ("think", 1.0)], two - HALF, two + HALF)
    att.between([("think", 1.0)], think - HALF, think + HALF)
    low, high = att.range("fewer")
    assert high < RULE.threshold - 1, (low, high)
