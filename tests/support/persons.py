"""The persons of a linked store as a partition of its records, to compare two linkages."""

from __future__ import annotations

import duckdb


def partition(con: duckdb.DuckDBPyConnection) -> set[frozenset[str]]:
    """Each person's records (``source|record_id``), ignoring the person ids themselves."""
    groups: dict[str, set[str]] = {}
    for unique_id, person in con.execute(
        "SELECT source || '|' || record_id, person_id FROM person_links"
    ).fetchall():
        groups.setdefault(person, set()).add(unique_id)
    return {frozenset(g) for g in groups.values()}
