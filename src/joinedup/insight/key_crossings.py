"""The pairs a rare-value key's crossing of the cap makes or unmakes, found without scoring
the records that hold the key against the whole place.

When the count of a rare-value key's value crosses ``RARE_KEY_CAP``, every record holding
the value changes that key (``input_cache`` calls them *flipped*): the key is left out once
the value is common, and kept once it is rare again. A key is read only by its blocking
rule, never by a comparison, so such a record's score with every other record stands. What
changes is which pairs the blocking rules make, and only between records that flipped
together (two records share a value of the key only if both hold it, and all its holders
flip at once):

- a stored pair of two flipped records that no rule makes now is dropped (a value that
  became common no longer blocks its holders together);
- a pair of two flipped records sharing a key's value now is scored (a value that became
  rare blocks its holders together); where another rule already made it, its score is the
  same and it is written again.

Pairs of a flipped record with a new or changed one are the incremental run's own. Scoring
every flipped record against the place instead cost a third of a million-record run's
scoring (7,398 flipped records and 44,582 of its 130,951 pairs). Only a record the last run
linked with its keys as they were before the crossing is handled here (*re-keyed*); any
other flipped record (one a failed run left unlinked, say) is linked as changed.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from joinedup.insight.model_input import _RARE_KEYS

__all__ = ["crossing_pairs", "rekeyed"]

PAIRS = pa.schema([("match_key", pa.string()), ("join_key_l", pa.string()), ("join_key_r", pa.string())])
DROPPED = pa.schema(
    [("unique_id_l", pa.string()), ("unique_id_r", pa.string()), ("match_probability", pa.float64())]
)


def rekeyed(con: duckdb.DuckDBPyConnection, flipped: dict[str, int], changed: list[str]) -> list[str]:
    """The changed records that only flipped: the last run linked them with the model input
    they had before the refresh re-keyed them (their ``link_inputs`` hash is that one)."""
    candidates = [u for u in changed if u in flipped]
    if not candidates:
        return []
    con.register("_flip_candidates", pa.table({"unique_id": pa.array(candidates, pa.string())}))
    try:
        linked = dict(
            con.execute(
                "SELECT unique_id, row_hash FROM link_inputs "
                "WHERE unique_id IN (SELECT unique_id FROM _flip_candidates)"
            ).fetchall()
        )
    finally:
        con.unregister("_flip_candidates")
    return sorted(u for u in candidates if linked.get(u) == flipped[u])


def _first_rule(rules: list[str]) -> str:
    """The index of the first rule that makes the pair (l, r) (Splink's match key), else NULL."""
    if not rules:
        return "0"  # no rules: Splink compares every pair
    return "CASE " + " ".join(f"WHEN ({rule}) THEN {k}" for k, rule in enumerate(rules)) + " END"


def crossing_pairs(
    con: duckdb.DuckDBPyConnection, rows: pa.Table | None, ids: list[str], model: dict[str, Any]
) -> tuple[pa.Table, pa.Table]:
    """For the re-keyed records ``ids`` (see the module's docstring): the pairs among them
    to score (match_key, join_key_l, join_key_r, the smaller id on the left as Splink's
    dedupe orders them) and the stored pairs among them to drop (unique_id_l, unique_id_r,
    match_probability). ``rows``: the flipped records' model input, as the cache now holds
    it (``input_cache.RecordChanges.flipped_rows``)."""
    if len(ids) < 2 or rows is None:
        return PAIRS.empty_table(), DROPPED.empty_table()
    rules = [r["blocking_rule"] for r in model.get("blocking_rules_to_generate_predictions", [])]
    first = _first_rule(rules)
    con.register("_rekeyed_ids", pa.table({"unique_id": pa.array(ids, pa.string())}))
    con.register("_flipped_rows", rows)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rekeyed AS SELECT * FROM _flipped_rows "
            "WHERE unique_id IN (SELECT unique_id FROM _rekeyed_ids)"
        )
        columns = set(rows.column_names)
        shared = [
            f"SELECT l.unique_id AS a, r.unique_id AS b FROM _rekeyed l JOIN _rekeyed r "
            f'ON l."{key}" = r."{key}" AND l.unique_id < r.unique_id'
            for key in _RARE_KEYS
            if key in columns
        ]
        to_score = con.sql(
            f"""
            WITH shared AS ({" UNION ".join(shared) if shared else "SELECT NULL AS a, NULL AS b LIMIT 0"})
            SELECT CAST(k AS VARCHAR) AS match_key, a AS join_key_l, b AS join_key_r FROM (
                SELECT s.a, s.b, {first} AS k FROM shared s
                JOIN _rekeyed l ON l.unique_id = s.a JOIN _rekeyed r ON r.unique_id = s.b)
            WHERE k IS NOT NULL
            """  # noqa: S608
        ).to_arrow_table()
        to_drop = con.sql(
            f"""
            SELECT p.unique_id_l, p.unique_id_r, p.match_probability FROM link_pairs p
            JOIN _rekeyed l ON l.unique_id = p.unique_id_l JOIN _rekeyed r ON r.unique_id = p.unique_id_r
            WHERE ({first}) IS NULL
            """  # noqa: S608
        ).to_arrow_table()
    finally:
        con.unregister("_rekeyed_ids")
        con.unregister("_flipped_rows")
        con.execute("DROP TABLE IF EXISTS _rekeyed")
    return to_score.cast(PAIRS), to_drop.cast(DROPPED)
