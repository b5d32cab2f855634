"""The pairs an incremental run scores: those a full run's blocking would make that hold a
new or changed (*touched*) record, found by joining the touched records against the place
where it lies, one join per rule, rather than by a pass of Splink over the whole place.

Splink's dedupe makes a pair (a, b) only when a's unique id sorts before b's and a rule
holds with a as ``l`` and b as ``r``; the pair's match key is the first rule that makes it.
A symmetric rule (``l.dob = r.dob AND l.surname = r.surname``) reads the same either way
round, so one join, with the touched record on either side, finds its pairs. An asymmetric
rule (``l.forename = r.surname``) is joined both ways round, and the order of each pair's
unique ids then says whether the rule made it. A rule and its mirror image (``l.surname =
r.forename``), as the model has for swapped names, find the same candidates in the two
orders, so one pair of joins serves both.

The joins carry row numbers of the place, not unique ids: reading a million ids once per
rule cost about as much as the rules' own columns. The ids are read once, for the rows in
some pair, at the end.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from joinedup.insight import block_limits, blocking_rules, input_cache

__all__ = ["blocked_pairs"]

_SCHEMA = pa.schema([("match_key", pa.string()), ("join_key_l", pa.string()), ("join_key_r", pa.string())])


def blocked_pairs(
    con: duckdb.DuckDBPyConnection,
    place: str,
    touched: pa.Array,
    model: dict[str, Any],
    *,
    max_block: int = block_limits.DEFAULT_MAX_BLOCK,
) -> pa.Table:
    """The pairs a full run's blocking would make that hold a touched record (ids
    ``touched``): for each pair, the smaller unique id on the left (as Splink's dedupe orders
    them) and the first rule that makes it (Splink's match_key). Pairs of two unchanged
    records are not made: they already carry the same model's score. ``place`` names the
    table of ``con`` holding every record's model input (``input_cache``).

    Raises ``block_limits.BlockTooLarge`` before any pair leaves DuckDB when a block of the
    touched records, or the pairs they make, exceed ``max_block``."""
    rules = [r["blocking_rule"] for r in model.get("blocking_rules_to_generate_predictions", [])]
    if not len(touched):
        return _SCHEMA.empty_table()
    con.register("_touched_ids", pa.table({"unique_id": touched}))
    try:
        # The touched records copied once (a few thousand); the place is joined where it lies.
        # Row numbers are stable here, as nothing writes to the place between these statements.
        columns = _columns_read(con, place, rules)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _touched_input AS SELECT rowid AS _row, {columns} "  # noqa: S608
            f"FROM {place} WHERE unique_id IN (SELECT unique_id FROM _touched_ids)"
        )
        # New records alike in their thousands would make the joins below quadratic (10,000
        # made 50 million pairs in a minute before the count after them could stop the run):
        # their own blocks are counted first, in milliseconds.
        block_limits.check(con, "_touched_input", rules, limit=max_block)
        symmetric, oriented = _joins(place, rules or ["1 = 1"])  # no rules: Splink compares every pair
        parts, ids = [*symmetric], ""
        if oriented:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _oriented AS {' UNION ALL '.join(oriented)}")
            ids = (
                f"WITH ids AS MATERIALIZED (SELECT rowid AS row, unique_id FROM {place} "  # noqa: S608
                "WHERE rowid IN (SELECT a FROM _oriented UNION SELECT b FROM _oriented)) "
            )
            # Each candidate (a as l, b as r) is the rule's pair when a's id sorts first, and
            # its mirror's when b's does; a rule without a mirror makes nothing the other way.
            parts.append(
                "SELECT CASE WHEN x.unique_id < y.unique_id THEN o.k ELSE o.k_mirror END AS k, o.a, o.b "
                "FROM _oriented o JOIN ids x ON x.row = o.a JOIN ids y ON y.row = o.b "
                "WHERE x.unique_id < y.unique_id OR o.k_mirror IS NOT NULL"
            )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _blocked AS {ids}SELECT min(k) AS k, least(a, b) AS a, "
            f"greatest(a, b) AS b FROM ({' UNION ALL '.join(parts)}) GROUP BY 2, 3"
        )
        # Before any pair leaves DuckDB: a block of thousands of records alike stops here.
        block_limits.check_pairs(con, "_blocked", place, rules, limit=max_block)
        blocked = con.sql(
            f"""
            WITH pairs AS (SELECT * FROM _blocked),
            ids AS MATERIALIZED (
                SELECT rowid AS row, unique_id FROM {place}
                WHERE rowid IN (SELECT a FROM pairs UNION SELECT b FROM pairs))
            SELECT CAST(k AS VARCHAR) AS match_key, least(x.unique_id, y.unique_id) AS join_key_l,
                   greatest(x.unique_id, y.unique_id) AS join_key_r
            FROM pairs JOIN ids AS x ON x.row = pairs.a JOIN ids AS y ON y.row = pairs.b
            """  # noqa: S608
        ).to_arrow_table()
    finally:
        con.unregister("_touched_ids")
        for table in ("_touched_input", "_oriented", "_blocked"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return blocked.cast(_SCHEMA)


def _columns_read(con: duckdb.DuckDBPyConnection, place: str, rules: list[str]) -> str:
    """The touched records' columns the joins and the block counts read: the id, the source
    and the rules' own columns (all the model input if a rule cannot be read). Each column
    copied costs a read of the whole place, as a month's records lie in every row group."""
    wanted = {"unique_id", "source"}
    for rule in rules:
        read = blocking_rules.rule_columns(rule)
        if read is None:
            return input_cache.input_select(con, place)
        wanted |= read
    return input_cache.input_select(con, place, wanted)


def _joins(place: str, rules: list[str]) -> tuple[list[str], list[str]]:
    """SQL for the candidate pairs: of symmetric rules as (k, a, b) row numbers in either
    order, and of asymmetric ones as (k, k_mirror, a, b) with a the rule's l and b its r."""
    mirrors = blocking_rules.mirrored_rules(rules)
    mirrored = set(mirrors.values())
    symmetric: list[str] = []
    oriented: list[str] = []
    for key, rule in enumerate(rules):
        if key in mirrored:
            continue  # found by its mirror's joins
        if blocking_rules.symmetric_rule(rule):
            symmetric.append(
                f"SELECT {key} AS k, l._row AS a, r.rowid AS b FROM _touched_input AS l "
                f"JOIN {place} AS r ON ({rule}) AND l._row <> r.rowid"
            )
            continue
        mirror = mirrors.get(key, "NULL")
        oriented.append(
            f"SELECT {key} AS k, {mirror} AS k_mirror, l._row AS a, r.rowid AS b "
            f"FROM _touched_input AS l JOIN {place} AS r ON ({rule}) AND l._row <> r.rowid"
        )
        oriented.append(
            f"SELECT {key} AS k, {mirror} AS k_mirror, l.rowid AS a, r._row AS b "
            f"FROM {place} AS l JOIN _touched_input AS r ON ({rule}) AND l.rowid <> r._row"
        )
    return symmetric, oriented
