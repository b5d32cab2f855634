"""A place built by hand for quarterly demand: each person is known to one service and has
a given number of events on one day, so events and cost per quarter can be counted by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from joinedup.insight import demand
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect

# source: (partner, service, need, cost item, unit cost at 2024-25 prices)
SOURCES = {
    "housing": ("Council", "Housing Options", "homelessness", "Q-HOUSING", 100.0),
    "ed": ("NHS Trust", "Emergency Department", "physical_health", "Q-ED", 250.0),
    "custody": ("Police", "Police Custody", "offending", "Q-CUSTODY", 400.0),
}
# (source, day of the events, persons, events each)
Plan = list[tuple[str, date, int, int]]

# The attack test's place (tests/board/test_quarterly_attacks.py explains the numbers): a
# day in each quarter of 2024-25, and the emergency department's three persons in Q3.
DAYS = {1: date(2024, 5, 1), 2: date(2024, 8, 1), 3: date(2024, 11, 1), 4: date(2025, 2, 1)}
PLAN = [
    ("ed", DAYS[1], 38, 1), ("ed", DAYS[3], 3, 1),
    ("housing", DAYS[1], 20, 1), ("housing", DAYS[2], 20, 1), ("housing", DAYS[3], 38, 1),
    ("housing", DAYS[4], 20, 1), ("custody", DAYS[2], 20, 1), ("custody", DAYS[4], 20, 1),
]  # fmt: skip


def build_quarter_place(path: Path, plan: Plan) -> duckdb.DuckDBPyConnection:
    """The place of ``plan``, open (the caller closes it)."""
    con = connect(path, memory_limit="500MB", threads=1)
    seed_reference(con)
    for name, (partner, service, need, item, cost) in SOURCES.items():
        demand.set_unit_cost(con, item, cost_gbp=cost, price_year=demand.DEFAULT_PRICE_YEAR)
        con.execute(
            "INSERT INTO sources (name, partner, service, need, cost_item, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, now())",
            [name, partner, service, need, item],
        )
    for g, (source, day, persons, each) in enumerate(plan):
        for n in range(persons):
            pid = f"G{g}-{n:03d}"
            for e in range(each):
                rid = f"{pid}-{e}"
                con.execute(
                    "INSERT INTO records (source, record_id, date_of_birth, sex, event_date, need, "
                    "cost_item) VALUES (?, ?, NULL, NULL, ?, ?, ?)",
                    [source, rid, day, SOURCES[source][2], SOURCES[source][3]],
                )
                con.execute("INSERT INTO person_links VALUES (?, ?, ?)", [source, rid, pid])
    con.execute(
        "INSERT INTO link_runs (run_id, started_at, finished_at, status) VALUES (1, now(), now(), 'done')"
    )
    return con
