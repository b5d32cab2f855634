"""What a place's linkage remembers between runs, so that the next run can link only what
is new: the trained model (when, on how many records, its term frequencies), each record's
model input as last linked (a hash per record, to see what changed), and per run how it
ran and which records caused each merge or split.

The tables live beside store.py's and are created the same way (IF NOT EXISTS), so a store
made before them gains them on first use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight import name_and_date, one_record_store
from joinedup.insight.affected_persons import same_threshold_as_last_run
from joinedup.insight.store import create_if_missing, one

__all__ = [
    "InputChanges", "StoredModel", "diff_inputs", "ensure_schema", "load_model", "reason_to_link_in_full",
    "record_run", "recheck_source", "rechecked", "save_inputs", "save_model",
]  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS link_models (
    model_id INTEGER PRIMARY KEY,
    run_id INTEGER,
    trained_at TIMESTAMP,
    n_records INTEGER,
    matched_share DOUBLE,
    fields VARCHAR,
    model_json VARCHAR
);
CREATE TABLE IF NOT EXISTS link_term_frequencies (
    model_id INTEGER,
    column_name VARCHAR,
    value VARCHAR,
    tf DOUBLE
);
CREATE TABLE IF NOT EXISTS link_inputs (
    unique_id VARCHAR PRIMARY KEY,
    row_hash UBIGINT
);
CREATE TABLE IF NOT EXISTS link_run_details (
    run_id INTEGER PRIMARY KEY,
    mode VARCHAR,
    model_id INTEGER,
    n_new INTEGER,
    n_changed INTEGER,
    n_removed INTEGER,
    n_touched_persons INTEGER,
    new_matched_share DOUBLE,
    retrain_advice VARCHAR
);
-- Pairs of records the model said were different people, kept apart (conflicts.py).
ALTER TABLE link_run_details ADD COLUMN IF NOT EXISTS n_kept_apart INTEGER;
-- Persons a removed source left for the next run to re-cluster (governance.remove_source):
-- by then the source's records, and the pairs that joined or kept persons apart through
-- them, are gone, so the run could not find them from what it reads.
CREATE TABLE IF NOT EXISTS link_rechecks (person_id VARCHAR);
-- The source whose removal left the person (NULL where a version before kept none): the
-- run names it as the cause of the merges and splits it makes, not the source's records.
ALTER TABLE link_rechecks ADD COLUMN IF NOT EXISTS source VARCHAR;
CREATE TABLE IF NOT EXISTS person_event_records (
    run_id INTEGER,
    kind VARCHAR,
    person_id VARCHAR,
    other_person_id VARCHAR,
    unique_id VARCHAR,
    cause VARCHAR
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    create_if_missing(con, _SCHEMA)


@dataclass(frozen=True)
class StoredModel:
    model_id: int
    run_id: int
    trained_at: datetime
    n_records: int
    matched_share: float
    fields: frozenset[str]
    model: dict[str, Any]

    def compared_columns(self) -> set[str]:
        return {c["output_column_name"] for c in self.model.get("comparisons", [])}


def save_model(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    model: dict[str, Any],
    fields: frozenset[str],
    n_records: int,
    matched_share: float,
    term_frequencies: dict[str, pa.Table],
) -> int:
    """Keep a newly trained model with the term frequencies it was trained with (so that
    incremental runs and a full re-link with this model score pairs alike)."""
    ensure_schema(con)
    (model_id,) = one(con.execute("SELECT coalesce(max(model_id), 0) + 1 FROM link_models")) or (1,)
    con.execute(
        "INSERT INTO link_models VALUES (?, ?, ?, ?, ?, ?, ?)",
        [model_id, run_id, datetime.now(), n_records, matched_share, json.dumps(sorted(fields)),
         json.dumps(model)],
    )  # fmt: skip
    for column, table in term_frequencies.items():
        con.register("_tf", table)
        con.execute(
            f'INSERT INTO link_term_frequencies SELECT ?, ?, CAST("{column}" AS VARCHAR), '  # noqa: S608
            f'"tf_{column}" FROM _tf',
            [model_id, column],
        )
        con.unregister("_tf")
    return int(model_id)


def load_model(con: duckdb.DuckDBPyConnection) -> StoredModel | None:
    ensure_schema(con)
    row = one(
        con.execute(
            "SELECT model_id, run_id, trained_at, n_records, matched_share, fields, model_json "
            "FROM link_models ORDER BY model_id DESC LIMIT 1"
        )
    )
    if row is None:
        return None
    return StoredModel(
        model_id=int(row[0]), run_id=int(row[1]), trained_at=row[2], n_records=int(row[3]),
        matched_share=float(row[4]), fields=frozenset(json.loads(row[5])), model=json.loads(row[6]),
    )  # fmt: skip


def term_frequencies(con: duckdb.DuckDBPyConnection, model_id: int) -> dict[str, pa.Table]:
    columns = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT column_name FROM link_term_frequencies WHERE model_id = ? ORDER BY 1",
            [model_id],
        ).fetchall()
    ]
    return {
        c: con.sql(
            f'SELECT value AS "{c}", tf AS "tf_{c}" FROM link_term_frequencies '  # noqa: S608
            "WHERE model_id = ? AND column_name = ?",
            params=[model_id, c],
        ).to_arrow_table()
        for c in columns
    }


def save_inputs(con: duckdb.DuckDBPyConnection, cache: str) -> None:
    """Remember each record's model input as linked by this run: the hashes ``cache`` (the
    table ``input_cache`` keeps) holds for it."""
    ensure_schema(con)
    replace_inputs(con, con.sql(f"SELECT unique_id, row_hash FROM {cache}").to_arrow_table())  # noqa: S608


@dataclass(frozen=True)
class InputChanges:
    new: list[str]
    changed: list[str]
    removed: list[str]

    @property
    def touched(self) -> list[str]:
        return sorted(self.new + self.changed)


def _agree_elsewhere(con: duckdb.DuckDBPyConnection, cache: str) -> bool:
    """Whether ``cache`` and ``link_inputs`` hold the same ids with the same hashes outside
    the ids in ``_rewritten``: compared as a count and a sum of hashes of (id, hash) on each
    side, which differ unless the rows do (but for a 64-bit coincidence)."""
    sums = [
        one(con.execute(
            f"SELECT count(*), sum(hash(unique_id, row_hash)::HUGEINT) FROM {table} "  # noqa: S608
            "WHERE unique_id NOT IN (SELECT unique_id FROM _rewritten)"
        ))
        for table in (cache, "link_inputs")
    ]  # fmt: skip
    return sums[0] == sums[1]


def diff_inputs(
    con: duckdb.DuckDBPyConnection, cache: str, rewritten: list[str] | None = None
) -> tuple[InputChanges, pa.Table]:
    """New, changed and removed records since the last run (by the hashes of their model
    input in ``cache``, the table ``input_cache`` keeps, against ``link_inputs``), and the
    hashes of the new and changed ones.

    ``rewritten`` (the ids the cache's refresh wrote or removed) narrows the comparison to
    those ids when the two tables agree on every other row, which a count and a sum tell
    without joining a million rows; otherwise (a run that failed after the refresh, a cache
    made afresh) every row is compared."""
    ensure_schema(con)
    scope = ""
    if rewritten is not None:
        con.register("_rewritten", pa.table({"unique_id": pa.array(rewritten, pa.string())}))
        try:
            if _agree_elsewhere(con, cache):
                con.execute("CREATE OR REPLACE TEMP TABLE _rewritten_ids AS SELECT unique_id FROM _rewritten")
                scope = "WHERE unique_id IN (SELECT unique_id FROM _rewritten_ids)"
        finally:
            con.unregister("_rewritten")
    try:
        rows = con.execute(
            f"""
            SELECT coalesce(h.unique_id, i.unique_id),
                   CASE WHEN i.unique_id IS NULL THEN 'new'
                        WHEN h.unique_id IS NULL THEN 'removed' ELSE 'changed' END
            FROM (SELECT unique_id, row_hash FROM {cache} {scope}) h
            FULL OUTER JOIN (SELECT unique_id, row_hash FROM link_inputs {scope}) i USING (unique_id)
            WHERE i.unique_id IS NULL OR h.unique_id IS NULL OR h.row_hash <> i.row_hash
            ORDER BY 1
            """  # noqa: S608
        ).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _rewritten_ids")
    by_kind: dict[str, list[str]] = {"new": [], "changed": [], "removed": []}
    for unique_id, kind in rows:
        by_kind[kind].append(unique_id)
    changes = InputChanges(by_kind["new"], by_kind["changed"], by_kind["removed"])
    con.register("_touched_ids", pa.table({"unique_id": pa.array(changes.touched, pa.string())}))
    try:
        hashes = con.sql(
            f"SELECT unique_id, row_hash FROM {cache} "  # noqa: S608
            "WHERE unique_id IN (SELECT unique_id FROM _touched_ids)"
        ).to_arrow_table()
    finally:
        con.unregister("_touched_ids")
    return changes, hashes


def replace_inputs(con: duckdb.DuckDBPyConnection, hashes: pa.Table) -> None:
    """Make link_inputs hold exactly ``hashes``, writing only the rows that differ (its key
    made deleting and re-inserting a million unchanged rows cost seconds at commit)."""
    con.register("_hashes", hashes)
    try:
        con.execute(
            "DELETE FROM link_inputs i WHERE NOT EXISTS (SELECT 1 FROM _hashes h "
            "WHERE h.unique_id = i.unique_id AND h.row_hash = i.row_hash)"
        )
        con.execute(
            "INSERT INTO link_inputs SELECT unique_id, row_hash FROM _hashes h "
            "WHERE NOT EXISTS (SELECT 1 FROM link_inputs i WHERE i.unique_id = h.unique_id)"
        )
    finally:
        con.unregister("_hashes")


def update_inputs(
    con: duckdb.DuckDBPyConnection, hashes: pa.Table, changes: InputChanges, *, rekeyed: Sequence[str] = ()
) -> None:
    """Write only the inputs that changed (the touched records' and the ``rekeyed`` ones'):
    rewriting a million unchanged hashes made the commit of a small incremental run as slow
    as a full one."""
    stale = pa.array(changes.changed + changes.removed + list(rekeyed), pa.string())
    touched = pa.array(changes.touched + list(rekeyed), pa.string())
    fresh = hashes.filter(pc.is_in(hashes.column("unique_id"), value_set=touched))
    con.register("_stale", pa.table({"unique_id": stale}))
    con.register("_fresh", fresh)
    try:
        con.execute("DELETE FROM link_inputs WHERE unique_id IN (SELECT unique_id FROM _stale)")
        con.execute("INSERT INTO link_inputs SELECT unique_id, row_hash FROM _fresh")
    finally:
        con.unregister("_stale")
        con.unregister("_fresh")


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    mode: str,
    model_id: int,
    changes: InputChanges | None,
    touched_persons: int,
    new_matched_share: float | None,
    retrain_advice: str | None,
    kept_apart: int | None = None,
) -> None:
    ensure_schema(con)
    con.execute(
        "INSERT OR REPLACE INTO link_run_details (run_id, mode, model_id, n_new, n_changed, n_removed, "
        "n_touched_persons, new_matched_share, retrain_advice, n_kept_apart) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, mode, model_id,
         len(changes.new) if changes else None, len(changes.changed) if changes else None,
         len(changes.removed) if changes else None, touched_persons, new_matched_share,
         retrain_advice, kept_apart],
    )  # fmt: skip


def recheck_source(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Before a source's records and pairs go (``governance.remove_source``): keep the persons
    the next run must re-cluster, those holding the source's records and those an earlier run
    kept apart from one of them (``conflicts``), whose persons may now join."""
    ensure_schema(con)
    prefix = source + "|"
    con.execute(
        """
        INSERT INTO link_rechecks (person_id, source)
        WITH kept AS (SELECT unique_id_l AS a, unique_id_r AS b FROM link_conflict_pairs
                      WHERE starts_with(unique_id_l, ?) OR starts_with(unique_id_r, ?)),
        ends AS (SELECT a AS unique_id FROM kept UNION SELECT b FROM kept)
        SELECT DISTINCT person_id, ? FROM person_links WHERE source = ?
        UNION SELECT l.person_id, ? FROM ends e
        JOIN person_links l ON l.source || '|' || l.record_id = e.unique_id
        """,
        [prefix, prefix, source, source, source],
    )


def rechecked(con: duckdb.DuckDBPyConnection) -> None:
    """A run has re-clustered the persons ``recheck_source`` kept (the caller's transaction)."""
    ensure_schema(con)
    con.execute("DELETE FROM link_rechecks")


def reason_to_link_in_full(con: duckdb.DuckDBPyConnection, threshold: float) -> str | None:
    """Why the persons a full re-link would give cannot be reached from the stored ones by
    re-clustering only those a run touches, if so: a source now says (or no longer says) it
    holds each person once, so every pair weighs afresh (``one_record_store``); the persons
    were clustered at another threshold, so any may join or split; or they were linked by a
    version before ``name_and_date``, or with its rule since turned on or off, so its joins
    are missing (or left) where nothing is touched.
    ``joinedup link`` then links in full once with the stored model."""
    if same_threshold_as_last_run(con, threshold):
        return (
            one_record_store.check_unchanged(con)
            or name_and_date.not_yet_kept(con)
            or name_and_date.rule_changed(con)
        )
    return (
        f"the persons were last clustered at another threshold than {threshold}: any of them "
        "may join or split, so run `joinedup link` (it links in full once, with the stored "
        "model) or `joinedup link --full`"
    )
