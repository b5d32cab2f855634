"""The pairs a full run scores on DuckDB: the pairs Splink's blocking makes, with the same
match keys, made by one join per rule over small integer row numbers.

Splink's blocking SQL joins the records once per rule and keeps a pair only if no earlier
rule holds for it (``AND NOT (rule 0 OR rule 1 …)``), so the join for the last of the
model's 32 rules carries the columns of all 31 before it, for both records of every
candidate. At a million records that took 11–13 s. Here each rule's join reads only the
row number and its own columns; a pair's match key is the first rule that makes it, found
afterwards by ``min`` over the rules that do. That is the same pair and the same key as
Splink's: a pair is kept by rule k exactly when k holds and no earlier rule holds.

Splink's dedupe makes a pair (l, r) only when l's unique id sorts before r's. The row
numbers are given in unique-id order, so ``l.row < r.row`` is that condition for every
rule, symmetric or not. ``tests/insight/test_place_blocking.py`` checks the pairs and keys
against Splink's own blocking, and the full-link tests check the scores against predict().
"""

from __future__ import annotations

import itertools
from typing import Any

from joinedup.insight import blocking_rules, splink_backend

__all__ = ["blocked_pairs"]

_names = itertools.count()


def blocked_pairs(model: dict[str, Any], records: Any) -> Any:
    """Splink's blocked pairs of ``records`` (a registered table on a DuckDB database) under
    the blocking rules of ``model`` (Splink's saved model), as a table on that database:
    match_key, join_key_l, join_key_r, the smaller unique id on the left."""
    db_api = records.db_api
    rules = [r["blocking_rule"] for r in model.get("blocking_rules_to_generate_predictions", [])]
    rules = rules or ["1 = 1"]  # no rules: Splink compares every pair
    n = next(_names)
    ordered, made = f"__joinedup_block_rows_{n}", f"__joinedup_blocked_{n}"
    run = db_api._execute_sql_against_backend  # noqa: SLF001 (Splink's own way to its database)
    run(
        f"CREATE TEMP TABLE {ordered} AS SELECT row_number() OVER (ORDER BY unique_id) AS _row, "
        f"{_columns(rules)} FROM {records.physical_name}"
    )
    try:
        joins = " UNION ALL ".join(
            f"SELECT {key} AS k, l._row AS a, r._row AS b FROM {ordered} AS l "  # noqa: S608
            f"JOIN {ordered} AS r ON ({rule}) AND l._row < r._row"
            for key, rule in enumerate(rules)
        )
        run(
            f"CREATE TABLE {made} AS WITH pairs AS (SELECT min(k) AS k, a, b FROM ({joins}) GROUP BY a, b) "  # noqa: S608
            f"SELECT CAST(k AS VARCHAR) AS match_key, x.unique_id AS join_key_l, y.unique_id AS join_key_r "
            f"FROM pairs JOIN {ordered} AS x ON x._row = pairs.a JOIN {ordered} AS y ON y._row = pairs.b"
        )
    finally:
        run(f"DROP TABLE IF EXISTS {ordered}")
    return db_api.table_to_splink_dataframe(splink_backend.BLOCKED_PAIRS, made)


def _columns(rules: list[str]) -> str:
    """The unique id and the rules' own columns (every column if a rule cannot be read)."""
    wanted = {"unique_id"}
    for rule in rules:
        read = blocking_rules.rule_columns(rule)
        if read is None:
            return "*"
        wanted |= read
    return ", ".join(f'"{c}"' for c in sorted(wanted))
