"""Shared building blocks for insight figures: the persons × needs and persons × services
views that cohorts, overlaps, demand and the network all start from."""

from __future__ import annotations

import duckdb

from joinedup.insight.store import one

__all__ = ["has_persons", "needs_of_place", "person_needs_sql", "person_services_sql"]

# One row per (person, need); a need comes from the record or its source's default.
person_needs_sql = """
SELECT DISTINCT l.person_id, r.need
FROM person_links l
JOIN records r USING (source, record_id)
WHERE r.need IS NOT NULL
"""

# One row per (person, source) with the source's partner and service names.
person_services_sql = """
SELECT DISTINCT l.person_id, l.source, s.partner, s.service
FROM person_links l
JOIN sources s ON s.name = l.source
"""


def has_persons(con: duckdb.DuckDBPyConnection) -> bool:
    row = one(con.execute("SELECT count(*) FROM person_links"))
    return bool(row and row[0])


def needs_of_place(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT need FROM records WHERE need IS NOT NULL ORDER BY need"
        ).fetchall()
    ]
