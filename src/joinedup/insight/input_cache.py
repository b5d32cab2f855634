"""The model input kept between runs, so that an incremental run prepares only what changed.

Preparing the model input of a million records took 1.3 s of a 6 s incremental run, most of
it in counting how many records share each rare-value key (``model_input._RARE_KEYS``) to
leave common values out. The table ``link_input_cache`` keeps, for every record, its model
input, the rare-value keys before the common ones are left out (``_name_key`` …) and a hash
of the record's fields. An incremental run then:

1. hashes the records' fields and compares them with the cache: new, changed and removed
   records;
2. prepares the model input of the new and changed records only;
3. recounts only the key values those records held or hold: a value whose count crosses the
   cap changes the key of every record holding it, so those records change too (*flipped*);
4. writes the changes to the cache, in the run's transaction.

After step 4 the cache holds exactly what ``model_input.prepare_input`` would give for the
records (the incremental test compares them after every batch), and each row's hash of its
model input (``row_hash``). What the last run linked is ``link_inputs``, compared with the
cache's hashes whole at each run: so the cache depends only on the records, never on which
runs finished, and a run that fails after refreshing it loses nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from joinedup.insight import model_input
from joinedup.insight.model_input import _BASE_SQL, _RARE_KEYS, RARE_KEY_CAP
from joinedup.insight.store import has_table, one

__all__ = [
    "CACHE", "RecordChanges", "cache_exists", "drop", "input_columns", "input_select", "rebuild", "refresh",
    "rows_of",
]  # fmt: skip

CACHE = "link_input_cache"

# The record fields the model input is made from (``model_input._BASE_SQL`` reads these).
_RECORD_FIELDS = (
    "source", "record_id", "forename", "surname", "previous_surname", "date_of_birth", "sex", "postcode",
    "nhs_number", "ni_number", "uprn", "address_line",
)  # fmt: skip
_RECORD_HASH = f"hash({', '.join(_RECORD_FIELDS)})"
_RAW = [f"_{k}" for k in _RARE_KEYS]


def _keyed_sql(where: str = "") -> str:
    """Each record's model input with its raw rare-value keys and its fields' hash (the
    common values not yet left out)."""
    base = _BASE_SQL.replace(
        "\nFROM records\n", f",\n    {_RECORD_HASH} AS record_hash\nFROM records {where}\n"
    )
    raw = ",\n    ".join(f"{expr} AS _{name}" for name, expr in _RARE_KEYS.items())
    return f"WITH base AS MATERIALIZED ({base})\nSELECT *,\n    {raw}\nFROM base"  # noqa: S608


_EXTRA = frozenset([*_RAW, "record_hash", "row_hash"])


def input_columns(con: duckdb.DuckDBPyConnection, table: str = CACHE) -> list[str]:
    """The model input's columns in ``prepare_input``'s order."""
    return [c for c in con.table(table).columns if c not in _EXTRA]


def input_select(
    con: duckdb.DuckDBPyConnection, table: str = CACHE, only: Collection[str] | None = None
) -> str:
    """``input_columns`` quoted for a SELECT list (those in ``only``, if given)."""
    return ", ".join(_quoted(c) for c in input_columns(con, table) if only is None or c in only)


def rows_of(
    con: duckdb.DuckDBPyConnection,
    place: str,
    ids: pa.Array | pa.ChunkedArray,
    columns: Collection[str] | None = None,
) -> pa.Table:
    """The model input of the records ``ids`` names, from ``place`` (a table holding every
    record's model input), read where it lies rather than copied whole: every column, or
    only ``columns`` (those the model's scoring reads: the ids of a month's pairs lie in
    every row group of the place, so each column asked for is read for all of it)."""
    select = input_select(con, place, columns)
    con.register("_rows_wanted", pa.table({"unique_id": ids}))
    try:
        return con.sql(
            f"SELECT {select} FROM {place} "  # noqa: S608
            "WHERE unique_id IN (SELECT unique_id FROM _rows_wanted)"
        ).to_arrow_table()
    finally:
        con.unregister("_rows_wanted")


def cache_exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store holds a cache of the model input as this version prepares it (one
    made by a version with other derived columns is not used, and is made afresh)."""
    if not has_table(con, CACHE):
        return False
    keyed = [c for c in con.sql(_keyed_sql()).columns if c not in _EXTRA]  # bound, not run
    expected = [*keyed, *_RARE_KEYS, "forename_names", *_RAW, "record_hash", "row_hash"]
    return con.table(CACHE).columns == expected


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the cache (the next link run makes it afresh)."""
    con.execute(f"DROP TABLE IF EXISTS {CACHE}")


def _final_select(con: duckdb.DuckDBPyConnection, source: str, common: dict[str, str]) -> str:
    """The cache's rows from ``source`` (keyed rows): the model input's columns in
    ``prepare_input``'s order, the raw keys, the record hash and the hash of the model input
    (over the same columns, in the same order, as ``link_state`` hashes a frame). ``common[k]``
    is SQL for the values of key k held by more than the cap."""
    kept = ", ".join(f"CASE WHEN _{k} NOT IN ({common[k]}) THEN _{k} END AS {k}" for k in _RARE_KEYS)
    excluded = ", ".join([*_RAW, "record_hash"])
    rows = (
        f"SELECT s.* EXCLUDE ({excluded}), {kept}, n.forename_names, {', '.join(_RAW)}, record_hash "  # noqa: S608
        f"FROM {source} s LEFT JOIN _forename_names n ON n.name = s.forename"
    )
    columns = [*con.sql(_keyed_sql()).columns, *_RARE_KEYS, "forename_names"]  # bound, not run
    return f"SELECT *, {_row_hash(columns)} AS row_hash FROM ({rows})"  # noqa: S608


def _row_hash(columns: list[str]) -> str:
    return f"hash({', '.join(_quoted(c) for c in columns if c not in _EXTRA and c != 'unique_id')})"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """The cache made afresh from every record (a full run, or the first incremental run of
    a store made before the cache existed)."""
    model_input.register_forename_names(con)
    try:
        common = {
            k: f"SELECT _{k} FROM keyed WHERE _{k} IS NOT NULL GROUP BY 1 HAVING count(*) > {RARE_KEY_CAP}"
            for k in _RARE_KEYS
        }
        con.execute(
            f"CREATE OR REPLACE TABLE {CACHE} AS WITH keyed AS MATERIALIZED ({_keyed_sql()}) "
            + _final_select(con, "keyed", common)
        )
    finally:
        con.unregister("_forename_names")


def _crossed(key: str) -> str:
    """Records whose value of ``key`` crossed the cap, one way or the other."""
    cap = RARE_KEY_CAP
    return f"_{key} IN (SELECT v FROM _counts_{key} WHERE (was > {cap}) <> (now > {cap}))"


@dataclass(frozen=True)
class RecordChanges:
    """What ``refresh`` changed in the cache: records new, changed and removed since it was
    last written, and unchanged records whose keys a count crossing the cap changed
    (*flipped*: each id with the hash of its model input before, so that a run can tell a
    record it linked with those keys from one it has yet to link)."""

    new: list[str]
    changed: list[str]
    removed: list[str]
    flipped: dict[str, int]
    # The flipped records' rows as the refresh wrote them (``key_crossings`` reads them
    # rather than picking a few thousand rows out of a million again).
    flipped_rows: pa.Table | None = None

    @property
    def rewritten(self) -> list[str]:
        """The ids whose rows the refresh wrote or removed."""
        return sorted(set(self.new) | set(self.changed) | set(self.flipped) | set(self.removed))


def refresh(con: duckdb.DuckDBPyConnection) -> RecordChanges:
    """Bring the cache up to date with the records (see the module's docstring); the caller
    holds the transaction."""
    rows = con.execute(
        f"""
        WITH now AS (SELECT source || '|' || record_id AS unique_id, {_RECORD_HASH} AS record_hash
                     FROM records)
        SELECT coalesce(n.unique_id, c.unique_id),
               CASE WHEN c.unique_id IS NULL THEN 'new' WHEN n.unique_id IS NULL THEN 'removed'
                    ELSE 'changed' END
        FROM now n FULL OUTER JOIN {CACHE} c USING (unique_id)
        WHERE c.unique_id IS NULL OR n.unique_id IS NULL OR n.record_hash <> c.record_hash
        """  # noqa: S608
    ).fetchall()
    kinds: dict[str, list[str]] = {"new": [], "changed": [], "removed": []}
    for unique_id, kind in rows:
        kinds[kind].append(unique_id)
    if not rows:
        return RecordChanges([], [], [], {})
    arriving = kinds["new"] + kinds["changed"]
    con.register("_arriving", pa.table({"unique_id": pa.array(arriving, pa.string())}))
    leaving = kinds["changed"] + kinds["removed"]
    con.register("_leaving", pa.table({"unique_id": pa.array(leaving, pa.string())}))
    where = "WHERE source || '|' || record_id IN (SELECT unique_id FROM _arriving)"
    model_input.register_forename_names(con, where)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _arrived AS {_keyed_sql(where)}")
        # The leaving records' keys, read once rather than once per key (each read scans the
        # cache's million unique ids).
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _left AS SELECT {', '.join(_RAW)} FROM {CACHE} "  # noqa: S608
            "WHERE unique_id IN (SELECT unique_id FROM _leaving)"
        )
        common: dict[str, str] = {}
        for k in _RARE_KEYS:
            # Counts after the change, for the values the arriving and leaving records hold:
            # only these can cross the cap.
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE _counts_{k} AS
                WITH touched AS (
                    SELECT _{k} AS v FROM _arrived WHERE _{k} IS NOT NULL
                    UNION SELECT _{k} FROM _left WHERE _{k} IS NOT NULL),
                was AS (SELECT _{k} AS v, count(*) AS n FROM {CACHE}
                        WHERE _{k} IN (SELECT v FROM touched) GROUP BY 1),
                gone AS (SELECT _{k} AS v, count(*) AS n FROM _left WHERE _{k} IS NOT NULL GROUP BY 1),
                came AS (SELECT _{k} AS v, count(*) AS n FROM _arrived WHERE _{k} IS NOT NULL GROUP BY 1)
                SELECT t.v, coalesce(was.n, 0) AS was, coalesce(was.n, 0) - coalesce(gone.n, 0)
                       + coalesce(came.n, 0) AS now
                FROM touched t LEFT JOIN was USING (v) LEFT JOIN gone USING (v) LEFT JOIN came USING (v)
                """  # noqa: S608
            )
            common[k] = f"SELECT v FROM _counts_{k} WHERE now > {RARE_KEY_CAP}"
        con.execute(f"DELETE FROM {CACHE} WHERE unique_id IN (SELECT unique_id FROM _leaving)")
        # Only keys with a value that crossed the cap are looked up in the cache (each
        # lookup scans a column of a million rows, and most runs cross few keys).
        cap = RARE_KEY_CAP
        crossed_keys = [
            k for k in _RARE_KEYS
            if (one(con.execute(f"SELECT count(*) FROM _counts_{k} WHERE (was > {cap}) <> (now > {cap})"))
                or (0,))[0]
        ]  # fmt: skip
        flipped: dict[str, int] = {}
        flipped_rows: pa.Table | None = None
        if crossed_keys:
            # One semi-join per key for the rows: an OR of several over the cache was slower.
            # Found and read by unique id, never by row number: DuckDB 2.0 read a row number
            # of a table written earlier in the same transaction wrongly (a segmentation
            # fault, or "Corrupted uncompressed string segment", in 11 purges of nine
            # sources in 60), and a purge refreshes once per source in one transaction.
            selects = [f"SELECT unique_id FROM {CACHE} WHERE {_crossed(k)}" for k in crossed_keys]  # noqa: S608
            con.execute(f"CREATE OR REPLACE TEMP TABLE _flipped_ids AS {' UNION '.join(selects)}")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _flipped AS SELECT * FROM {CACHE} "  # noqa: S608
                "WHERE unique_id IN (SELECT unique_id FROM _flipped_ids)"
            )
            for k in crossed_keys:
                con.execute(
                    f"UPDATE _flipped SET {k} = CASE WHEN _{k} IN ({common[k]}) THEN NULL ELSE _{k} END "  # noqa: S608
                    f"WHERE {_crossed(k)}"
                )
            flipped = dict(con.execute("SELECT unique_id, row_hash FROM _flipped").fetchall())
            con.execute(f"UPDATE _flipped SET row_hash = {_row_hash(input_columns(con))}")
            flipped_rows = con.sql("SELECT * FROM _flipped").to_arrow_table()
            # Re-keyed in a copy and written back whole: an UPDATE of the cache rewrote its
            # columns at commit (a second at a million rows).
            con.execute(f"DELETE FROM {CACHE} WHERE unique_id IN (SELECT unique_id FROM _flipped)")
            con.execute(f"INSERT INTO {CACHE} SELECT * FROM _flipped")
        # The arriving records' values were all recounted, so their keys need only this
        # run's counts.
        con.execute(f"INSERT INTO {CACHE} " + _final_select(con, "_arrived", common))
    finally:
        con.unregister("_forename_names")
        con.unregister("_arriving")
        con.unregister("_leaving")
        con.execute("DROP TABLE IF EXISTS _arrived")
        con.execute("DROP TABLE IF EXISTS _left")
        con.execute("DROP TABLE IF EXISTS _flipped")
        con.execute("DROP TABLE IF EXISTS _flipped_ids")
        for k in _RARE_KEYS:
            con.execute(f"DROP TABLE IF EXISTS _counts_{k}")
    return RecordChanges(kinds["new"], kinds["changed"], kinds["removed"], flipped, flipped_rows)
