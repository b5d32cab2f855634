"""Demand and cost by quarter, counted by hand on a tiny place.

Two persons, each on their own services (unit costs: housing £100, emergency department
£250, both at 2024-25 prices, so no uprating):

======  ===================  ==========  =====================
person  service              day         quarter
======  ===================  ==========  =====================
A       Housing Options x2   2024-05-01  Q1 2024-25 (Apr-Jun)
B       Emergency Dept x1    2024-08-01  Q2 2024-25 (Jul-Sep)
C       Housing Options x1   2024-11-01  Q3 2024-25 (Oct-Dec)
D       Emergency Dept x1    2025-02-01  Q4 2024-25 (Jan-Mar)
E       Emergency Dept x3    2025-04-10  Q1 2025-26
======  ===================  ==========  =====================

By hand: housing has 1 person, 2 events, £200 in Q1 2024-25 and 1, 1, £100 in Q3;
the emergency department 1, 1, £250 in Q2 and Q4, and 1, 3, £750 in Q1 2025-26. Everyone:
Q1 2, £200; Q2 1, £250; Q3 1, £100; Q4 1, £250; Q1 2025-26 3, £750. The newest event is in
Q1 2025-26, so the eight quarters run from Q2 2023-24 to Q1 2025-26, the first three empty.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from joinedup.insight.context import PlaceContext
from joinedup.insight.periods import FinancialYear
from joinedup.insight.quarterly import Cell, Quarter, last_quarters, quarterly_demand
from tests.support.quarter_place import build_quarter_place

PLAN = [
    ("housing", date(2024, 5, 1), 1, 2),
    ("ed", date(2024, 8, 1), 1, 1),
    ("housing", date(2024, 11, 1), 1, 1),
    ("ed", date(2025, 2, 1), 1, 1),
    ("ed", date(2025, 4, 10), 1, 3),
]


def test_quarters_are_financial_quarters() -> None:
    assert Quarter.containing(date(2024, 4, 1)) == Quarter(FinancialYear(2024), 1)
    assert Quarter.containing(date(2024, 6, 30)) == Quarter(FinancialYear(2024), 1)
    assert Quarter.containing(date(2024, 7, 1)) == Quarter(FinancialYear(2024), 2)
    assert Quarter.containing(date(2025, 1, 1)) == Quarter(FinancialYear(2024), 4)
    assert Quarter.containing(date(2025, 3, 31)) == Quarter(FinancialYear(2024), 4)
    q4 = Quarter(FinancialYear(2024), 4)
    assert (q4.start, q4.end, q4.label) == (date(2025, 1, 1), date(2025, 3, 31), "Q4 2024-25")
    assert q4.next() == Quarter(FinancialYear(2025), 1) and q4.next().previous() == q4


def test_quarterly_demand_counted_by_hand(tmp_path: Path) -> None:
    con = build_quarter_place(tmp_path / "tiny.duckdb", PLAN)
    try:
        quarters = last_quarters(con)
        assert [q.label for q in quarters] == [
            "Q2 2023-24", "Q3 2023-24", "Q4 2023-24", "Q1 2024-25", "Q2 2024-25", "Q3 2024-25",
            "Q4 2024-25", "Q1 2025-26",
        ]  # fmt: skip
        ctx = PlaceContext("tiny")
        exact = quarterly_demand(con, ctx, exact=True)
        rows = {r.key: r.cells for r in exact.services}
        none = [Cell(0, 0, 0.0)] * 3
        assert rows["Housing Options"] == [*none, Cell(1, 2, 200.0), Cell(0, 0, 0.0), Cell(1, 1, 100.0),
                                           Cell(0, 0, 0.0), Cell(0, 0, 0.0)]  # fmt: skip
        assert rows["Emergency Department"] == [*none, Cell(0, 0, 0.0), Cell(1, 1, 250.0), Cell(0, 0, 0.0),
                                                Cell(1, 1, 250.0), Cell(1, 3, 750.0)]  # fmt: skip
        assert {r.key: r.partner for r in exact.services} == {
            "Housing Options": "Council", "Emergency Department": "NHS Trust"}  # fmt: skip
        everyone = exact.cohorts[0]
        assert everyone.key == "all"
        assert [(c.events, c.cost) for c in everyone.cells][3:] == [
            (2, 200.0), (1, 250.0), (1, 100.0), (1, 250.0), (3, 750.0)]  # fmt: skip
        # Nobody is known to three or more services: the built-in cohort is there, empty.
        services3 = next(r for r in exact.cohorts if r.key == "services3")
        assert all(c.events == 0 for c in services3.cells)
        # A viewer sees none of it: every count is below the threshold of 8.
        shown = quarterly_demand(con, ctx)
        for row in [*shown.services, *shown.cohorts]:
            for c in row.cells:
                assert c.events in (0, None) and c.cost in (0.0, None) and c.persons in (0, None)
        assert shown.services[0].cells[3].events is None or shown.services[1].cells[4].events is None
    finally:
        con.close()
