"""Persons: stable pseudonymous ids for the clusters that linkage finds.

Re-running linkage after a source is refreshed keeps each person's id unless their
records merge or split. The rule, applied greedily from the largest overlap down:

* a new cluster takes the id of the earlier person with whom it shares most records,
  provided that id has not already been taken by a larger overlap;
* so when earlier persons **merge**, the merged person keeps the id with most records
  (ties to the oldest id) and the others are retired, each recorded as merged into it;
* when an earlier person **splits**, the part with most of their records keeps the id and
  the other parts get new ids, each recorded as split from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from joinedup.insight.store import one, transaction

__all__ = ["PersonChanges", "assign_person_ids", "format_person_id"]


@dataclass
class PersonChanges:
    kept: int = 0
    new: int = 0
    merges: int = 0
    splits: int = 0
    retired: int = 0


def format_person_id(number: int) -> str:
    return f"P{number:08d}"


def _match(overlap: pd.DataFrame) -> dict[str, str]:
    """Greedy one-to-one matching of new clusters to earlier person ids by overlap size."""
    # A cluster and a person that overlap only each other are matched whatever the order
    # (neither can be taken by another row first): at a million records that is nearly
    # every row, and only the rest go through the greedy loop.
    shared = overlap.duplicated("cluster_id", keep=False) | overlap.duplicated("person_id", keep=False)
    alone = overlap[~shared]
    chosen: dict[str, str] = dict(zip(alone["cluster_id"], alone["person_id"], strict=True))
    ordered = overlap[shared].sort_values(["n", "person_id"], ascending=[False, True], kind="stable")
    taken_clusters: set[str] = set()
    taken_persons: set[str] = set()
    for cluster_id, person_id in zip(ordered["cluster_id"], ordered["person_id"], strict=True):
        if cluster_id in taken_clusters or person_id in taken_persons:
            continue
        chosen[cluster_id] = person_id
        taken_clusters.add(cluster_id)
        taken_persons.add(person_id)
    return chosen


def assign_person_ids(
    con: duckdb.DuckDBPyConnection,
    clusters: pd.DataFrame | pa.Table,
    run_id: int,
    *,
    scope: Sequence[str] | None = None,
    in_transaction: bool = False,
) -> PersonChanges:
    """Replace person_links from clusters (unique_id = 'source|record_id', cluster_id).

    With a scope (the person ids an incremental run touched), only those persons and the
    clustered records are replaced; every other person keeps its records and id. The
    clusters must then hold every remaining record of the scope's persons.
    """
    con.register("_clusters_in", clusters)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _clusters AS SELECT CAST(unique_id AS VARCHAR) AS "
        "unique_id, CAST(cluster_id AS VARCHAR) AS cluster_id FROM _clusters_in"
    )
    con.unregister("_clusters_in")
    try:
        overlap = con.execute(
            """
            SELECT c.cluster_id, p.person_id, count(*) AS n
            FROM _clusters c
            JOIN person_links p ON c.unique_id = p.source || '|' || p.record_id
            GROUP BY ALL
            """
        ).df()
        chosen = _match(overlap)
        changes = PersonChanges(kept=len(chosen))
        all_clusters = [
            r[0]
            for r in con.execute("SELECT DISTINCT cluster_id FROM _clusters ORDER BY cluster_id").fetchall()
        ]
        unmatched = [c for c in all_clusters if c not in chosen]
        if unmatched:
            # Ids are never reused: the high-water mark is kept, so a retired id stays retired.
            held = one(con.execute("SELECT value FROM settings WHERE key = 'person_high_water'"))
            highest = one(
                con.execute(
                    "SELECT max(CAST(substr(id, 2) AS BIGINT)) FROM (SELECT person_id AS id FROM "
                    "person_links UNION ALL SELECT person_id FROM person_events UNION ALL "
                    "SELECT other_person_id FROM person_events)"
                )
            )
            start = max(int(held[0]) if held else 0, int(highest[0] or 0) if highest else 0)
            for offset, cluster_id in enumerate(unmatched, start=1):
                chosen[cluster_id] = format_person_id(start + offset)
            con.execute(
                "INSERT OR REPLACE INTO settings VALUES ('person_high_water', ?)",
                [str(start + len(unmatched))],
            )
        events: list[tuple[int, str, str, str, int]] = []
        # Only clusters and earlier persons that appear more than once can merge or split.
        merged = overlap[overlap.duplicated("cluster_id", keep=False)]
        split = overlap[overlap.duplicated("person_id", keep=False)]
        # Merges: a new person holding records of several earlier persons.
        for cluster_id, group in merged.groupby("cluster_id", sort=True):
            if len(group) > 1:
                survivor = chosen[str(cluster_id)]
                for person_id, n in zip(group["person_id"], group["n"], strict=True):
                    if person_id != survivor:
                        events.append((run_id, "merge", survivor, str(person_id), int(n)))
                        changes.merges += 1
        # Splits: an earlier person whose records now sit in several new persons.
        for person_id, group in split.groupby("person_id", sort=True):
            if len(group) > 1:
                for cluster_id, n in zip(group["cluster_id"], group["n"], strict=True):
                    new_id = chosen[str(cluster_id)]
                    if new_id != person_id:
                        events.append((run_id, "split", str(person_id), new_id, int(n)))
                        changes.splits += 1
        changes.new = len(unmatched)
        if scope is None:
            previous = {r[0] for r in con.execute("SELECT DISTINCT person_id FROM person_links").fetchall()}
        else:
            previous = set(scope)
        changes.retired = len(previous - set(chosen.values()))
        mapping = pd.DataFrame({"cluster_id": list(chosen.keys()), "person_id": list(chosen.values())})
        con.register("_chosen", mapping)
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _new_links AS
            SELECT r.source, r.record_id, m.person_id
            FROM _clusters c
            JOIN _chosen m USING (cluster_id)
            JOIN records r ON c.unique_id = r.source || '|' || r.record_id
            """
        )
        # Only links whose person changed are deleted and written again. person_links is
        # keyed on (source, record_id), and DuckDB's commit of a million key deletions and
        # re-insertions took 20 s for a re-link that moved a few dozen records.
        if scope is None:
            in_scope = "TRUE"
        else:
            con.register("_person_scope", pd.DataFrame({"person_id": list(scope)}, dtype=object))
            in_scope = (
                "(p.person_id IN (SELECT person_id FROM _person_scope) OR EXISTS (SELECT 1 FROM _new_links n "
                "WHERE n.source = p.source AND n.record_id = p.record_id))"
            )
        with nullcontext() if in_transaction else transaction(con):
            con.execute(
                f"""
                DELETE FROM person_links p WHERE {in_scope} AND NOT EXISTS (
                    SELECT 1 FROM _new_links n WHERE n.source = p.source
                    AND n.record_id = p.record_id AND n.person_id = p.person_id)
                """  # noqa: S608 - in_scope is one of two fixed strings
            )
            con.execute(
                """
                INSERT INTO person_links
                SELECT n.source, n.record_id, n.person_id FROM _new_links n
                WHERE NOT EXISTS (SELECT 1 FROM person_links p
                                  WHERE p.source = n.source AND p.record_id = n.record_id)
                """
            )
            if events:
                con.executemany("INSERT INTO person_events VALUES (?, ?, ?, ?, ?)", events)
        con.unregister("_chosen")
    finally:
        con.unregister("_person_scope")  # a no-op when there was no scope
        con.execute("DROP TABLE IF EXISTS _clusters")
        con.execute("DROP TABLE IF EXISTS _new_links")
    return changes
