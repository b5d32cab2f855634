"""Stable person ids: kept across re-runs, merges and splits recorded."""

from __future__ import annotations

import duckdb
import pandas as pd

from joinedup.insight.persons import assign_person_ids


def _records(con: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    con.executemany("INSERT INTO records (source, record_id) VALUES ('s', ?)", [[i] for i in ids])


def _clusters(groups: list[list[str]]) -> pd.DataFrame:
    rows = [(f"s|{r}", g[0]) for g in groups for r in g]
    return pd.DataFrame(rows, columns=["unique_id", "cluster_id"])


def _persons(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT record_id, person_id FROM person_links").fetchall())


def test_ids_are_stable_and_changes_recorded(store: duckdb.DuckDBPyConnection) -> None:
    _records(store, ["a", "b", "c", "d", "e"])
    first = assign_person_ids(store, _clusters([["a", "b"], ["c"], ["d", "e"]]), 1)
    assert first.new == 3
    before = _persons(store)

    same = assign_person_ids(store, _clusters([["a", "b"], ["c"], ["d", "e"]]), 2)
    assert (same.kept, same.new, same.merges, same.splits) == (3, 0, 0, 0)
    assert _persons(store) == before

    # c joins a+b (a merge) and d, e part (a split).
    changed = assign_person_ids(store, _clusters([["a", "b", "c"], ["d"], ["e"]]), 3)
    after = _persons(store)
    assert after["a"] == after["b"] == after["c"] == before["a"]  # the larger keeps its id
    assert after["d"] == before["d"] and after["e"] != before["e"]
    assert (changed.merges, changed.splits, changed.retired) == (1, 1, 1)
    events = store.execute(
        "SELECT kind, person_id, other_person_id FROM person_events WHERE run_id = 3 ORDER BY kind"
    ).fetchall()
    assert events == [
        ("merge", before["a"], before["c"]),
        ("split", before["d"], after["e"]),
    ]


def test_new_records_join_existing_persons(store: duckdb.DuckDBPyConnection) -> None:
    _records(store, ["a", "b"])
    assign_person_ids(store, _clusters([["a"], ["b"]]), 1)
    before = _persons(store)
    _records(store, ["c"])
    assign_person_ids(store, _clusters([["a", "c"], ["b"]]), 2)
    after = _persons(store)
    assert after["c"] == after["a"] == before["a"] and after["b"] == before["b"]


def test_links_end_exactly_as_the_clusters_say_when_only_changes_are_written(
    store: duckdb.DuckDBPyConnection,
) -> None:
    # Only links whose person changed are rewritten: a removed record's link must still go,
    # a moved record's must change, and nothing may be left twice.
    _records(store, ["a", "b", "c", "d"])
    assign_person_ids(store, _clusters([["a", "b"], ["c"], ["d"]]), 1)
    before = _persons(store)
    assign_person_ids(store, _clusters([["a"], ["b", "c"]]), 2)  # d removed, b moves to c
    after = _persons(store)
    assert set(after) == {"a", "b", "c"}
    assert after["a"] == before["a"] and after["b"] == after["c"] != after["a"]
    (rows,) = store.execute("SELECT count(*) FROM person_links").fetchone() or (0,)
    assert rows == 3

    # Scoped (incremental): the scope's persons are replaced, the others kept as they were.
    _records(store, ["e"])
    assign_person_ids(store, _clusters([["c", "e"]]), 3, scope=[after["c"]])
    scoped = _persons(store)
    assert scoped["a"] == after["a"]  # outside the scope: untouched
    assert "b" not in scoped  # in the scope's person, but not in its new clusters
    assert scoped["c"] == scoped["e"] == after["c"]


def _greedy(overlap: pd.DataFrame) -> dict[str, str]:
    """The matching as first written: every row, largest overlap first, in one loop."""
    ordered = overlap.sort_values(["n", "person_id"], ascending=[False, True], kind="stable")
    chosen: dict[str, str] = {}
    for cluster_id, person_id in zip(ordered["cluster_id"], ordered["person_id"], strict=True):
        if cluster_id not in chosen and person_id not in chosen.values():
            chosen[cluster_id] = person_id
    return chosen


def test_clusters_and_persons_overlapping_only_each_other_match_as_the_greedy_loop_would() -> None:
    # Random overlaps with merges, splits, ties and one-to-one rows mixed: the shortcut for
    # the one-to-one rows must choose exactly what the loop over every row chose.
    import random

    from joinedup.insight.persons import _match

    for seed in range(40):
        rng = random.Random(seed)
        rows = {(f"c{rng.randrange(30)}", f"P{rng.randrange(30):08d}") for _ in range(rng.randrange(1, 60))}
        sizes = [(c, p, rng.choice([1, 1, 2, 3])) for c, p in sorted(rows)]
        overlap = pd.DataFrame(sizes, columns=["cluster_id", "person_id", "n"])
        assert _match(overlap) == _greedy(overlap), seed
