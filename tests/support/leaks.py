"""Where a store still holds a source's record ids: every text column of every table."""

from __future__ import annotations

import duckdb


def tables_holding(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    """``table.column`` → rows whose value is one of the source's record ids
    (``source|record_id``), in every text and text-list column of the store."""
    prefix = source + "|"
    found: dict[str, int] = {}
    columns = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND NOT internal AND data_type IN ('VARCHAR', 'VARCHAR[]') "
        "ORDER BY 1, 2"
    ).fetchall()
    for table, column, kind in columns:
        test = (
            f'starts_with("{column}", ?)'
            if kind == "VARCHAR"
            else f'len(list_filter("{column}", lambda x: starts_with(x, ?))) > 0'
        )
        (n,) = con.execute(f'SELECT count(*) FROM "{table}" WHERE {test}', [prefix]).fetchone() or (0,)  # noqa: S608
        if n:
            found[f"{table}.{column}"] = int(n)
    return found
