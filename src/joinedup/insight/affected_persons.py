"""Which persons an incremental run re-clusters (incremental.py).

The *affected* persons are those holding a changed or removed record (or a record of a
source removed since the last run, or kept apart from one: ``link_rechecks``, written when
the source went), those a new pair at the threshold reaches, those a review decision does
not yet agree with (a "same person" with a record not yet linked among them), closed under
the stored pairs at the threshold: a person kept apart by a cannot-link (an analyst's, or
the model's on different identifiers, ``conflicts``) is re-clustered with the person it was
kept apart from, so that the run gives the persons a full re-link would.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from joinedup.insight.store import one

__all__ = ["affected_persons", "same_threshold_as_last_run"]


def affected_persons(
    con: duckdb.DuckDBPyConnection, threshold: float, must: list[tuple[str, str]],
    cannot: list[tuple[str, str]],
) -> list[str]:  # fmt: skip
    """Persons to re-cluster (see the module's docstring); reads _gone, _links, _new_pairs
    (every stored pair with a touched record is one of this run's new pairs) and _dropped
    (stored pairs no rule makes since a key crossed the cap: their person may split)."""
    seeds = {
        r[0]
        for r in con.execute(
            """
            SELECT person_id FROM _links WHERE unique_id IN (SELECT unique_id FROM _gone)
            UNION
            SELECT person_id FROM link_rechecks
            UNION
            SELECT l.person_id FROM _new_pairs p JOIN _links l ON l.unique_id = p.unique_id_r
            WHERE p.match_probability >= ?
            UNION
            SELECT l.person_id FROM _new_pairs p JOIN _links l ON l.unique_id = p.unique_id_l
            WHERE p.match_probability >= ?
            UNION
            SELECT l.person_id FROM _dropped p JOIN _links l ON l.unique_id = p.unique_id_l
            WHERE p.match_probability >= ?
            """,
            [threshold, threshold, threshold],
        ).fetchall()
    }
    decided = pd.DataFrame(
        [(a, b, "same") for a, b in must] + [(a, b, "different") for a, b in cannot],
        columns=["a", "b", "decision"], dtype=object,
    )  # fmt: skip
    if len(decided):
        con.register("_decided", decided)
        seeds |= {
            r[0]
            for r in con.execute(
                """
                WITH d AS (
                    SELECT d.decision, la.person_id AS pa, lb.person_id AS pb FROM _decided d
                    LEFT JOIN _links la ON la.unique_id = d.a LEFT JOIN _links lb ON lb.unique_id = d.b),
                -- A record not yet linked is in no person: "same person" with it disagrees
                -- with the person at the other end, which must then be re-clustered.
                disagree AS (SELECT * FROM d WHERE (decision = 'same') = (pa IS DISTINCT FROM pb))
                SELECT pa FROM disagree WHERE pa IS NOT NULL
                UNION SELECT pb FROM disagree WHERE pb IS NOT NULL
                """
            ).fetchall()
        }
        con.unregister("_decided")
    persons = set(seeds)
    if not cannot:
        # Persons are the components of the stored pairs at this threshold (with must-links),
        # so without a cannot-link no strong pair joins two persons and there is nothing to
        # walk (a third of a second at a million records).
        return sorted(persons)
    # A strong pair joins two persons only where a cannot-link kept them apart, and then
    # each of those persons holds a record of some cannot-link (clusters.py: a group holding
    # none has nothing to stop it joining its neighbour). So the walk needs only the strong
    # pairs among those persons' records, read once (the place has a few thousand).
    ends = sorted({u for pair in cannot for u in pair})
    con.register("_ends", pd.DataFrame({"unique_id": ends}, dtype=object))
    try:
        across = con.execute(
            """
            WITH kept AS (SELECT unique_id, person_id FROM _links WHERE person_id IN (
                              SELECT person_id FROM _links WHERE unique_id IN (SELECT unique_id FROM _ends)))
            SELECT DISTINCT l.person_id, r.person_id FROM link_pairs p
            JOIN kept l ON l.unique_id = p.unique_id_l JOIN kept r ON r.unique_id = p.unique_id_r
            WHERE p.match_probability >= ? AND l.person_id <> r.person_id
            """,
            [threshold],
        ).fetchall()
    finally:
        con.unregister("_ends")
    neighbours: dict[str, set[str]] = {}
    for a, b in across:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    frontier = [p for p in persons if p in neighbours]
    while frontier:
        person = frontier.pop()
        for other in neighbours[person] - persons:
            persons.add(other)
            frontier.append(other)
    return sorted(persons)


def same_threshold_as_last_run(con: duckdb.DuckDBPyConnection, threshold: float) -> bool:
    """The last finished run clustered at ``threshold``: its persons are what an incremental
    run at this threshold starts from (at another, every person may join or split)."""
    last = one(con.execute(
        "SELECT threshold FROM link_runs WHERE status = 'done' ORDER BY run_id DESC LIMIT 1"
    ))  # fmt: skip
    return last is not None and last[0] == threshold
