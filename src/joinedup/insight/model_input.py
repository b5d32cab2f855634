"""The model's input: one row per record, the fields Splink compares and the blocking keys
derived from them (nickname lists, rare-value keys). Full and incremental runs, the review
page's evidence and the benchmarks all read the place through ``prepare_input``."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
from nicknames import NickNamer

from joinedup.insight import model as link_model
from joinedup.insight.store import one

__all__ = ["RARE_KEY_CAP", "prepare_input", "present_fields", "present_fields_in"]


def _forename_names(forenames: pd.Series) -> dict[str, list[str]]:
    """Each forename with every name it may be a nickname of, or that may be its nickname."""
    namer = NickNamer()
    table: dict[str, list[str]] = {}
    for name in forenames.dropna().unique():
        lower = str(name).lower()
        names = {lower} | namer.canonicals_of(lower)
        table[str(name)] = sorted(n.upper() for n in names)
    return table


# Rare-value keys: a value shared by few records (a full name, an address …) is a cheap, safe
# block; common ones (JOHN SMITH) are left null so that no block grows with the place.
_RARE_KEYS: dict[str, str] = {
    "name_key": "forename || ' ' || surname",
    "address_key": "address_line",
    "surname_year_key": "surname || ' ' || birth_year",
    "house_key": "house || ' ' || address_end",
    "surname_address_key": "surname || ' ' || address_end",
    "forename_address_key": "forename || ' ' || address_end",
    "dob_initials_key": "dob || ' ' || surname_initial || forename_initial",
    "initials_address_key": "surname_initial || forename_initial || ' ' || address_end",
    "street_key": "house || ' ' || street",
    # Records whose names and house number are all mistyped or replaced still share a date of
    # birth with the end of the address (a town, or a postcode held in the line) or with the
    # street: on FEBRL4 these two found 23 true pairs no other rule did, and no false ones.
    "dob_end_key": "dob || ' ' || address_end",
    "dob_street_key": "dob || ' ' || street",
}

_BASE_SQL = """
SELECT
    source || '|' || record_id AS unique_id,
    source,
    split_part(forename, ' ', 1) AS forename,
    surname,
    previous_surname,
    strftime(date_of_birth, '%Y-%m-%d') AS dob,
    strftime(date_of_birth, '%Y-%d-%m') AS dob_transposed,
    CAST(year(date_of_birth) AS VARCHAR) AS birth_year,
    strftime(date_of_birth, '%Y-%m') AS birth_year_month,
    strftime(date_of_birth, '%m-%d') AS birth_month_day,
    sex,
    postcode,
    nullif(regexp_extract(postcode, '^([A-Z]{1,2}[0-9][A-Z0-9]?)', 1), '') AS postcode_district,
    nhs_number,
    ni_number,
    uprn,
    address_line,
    -- The address's words, each once and sorted (so the value is the same whatever order
    -- the list is made in), and a fingerprint of them with a bit per word (md5, since the
    -- cache keeps fingerprints between DuckDB versions and hash() may change): the
    -- shared-words level skips pairs whose fingerprints have no bit in common.
    list_sort(list_distinct(string_split(address_line, ' '))) AS address_words,
    list_aggregate(list_transform(list_distinct(string_split(address_line, ' ')),
                                  lambda w: 1::BIGINT << (md5_number(w) % 63)::INTEGER), 'bit_or')
        AS address_bits,
    substr(surname, 1, 1) AS surname_initial,
    substr(forename, 1, 1) AS forename_initial,
    nullif(regexp_extract(address_line, '^([0-9]+)', 1), '') AS house,
    nullif(regexp_extract(address_line, '^[0-9]* ?([A-Z]+)', 1), '') AS street,
    -- The end of an address line (a town, or a postcode when it travels in the line).
    nullif(regexp_extract(address_line, '([A-Z0-9]+)$', 1), '') AS address_end
FROM records
"""


def _input_sql(cap: int) -> str:
    # A key is kept unless its value is common: the common values (more than cap records)
    # are few, so testing each record against them is cheaper than joining every record's
    # count back (a fifth faster at a million records, the same output), and a GROUP BY per
    # key is several times faster in DuckDB than a window count over a million rows.
    raw = ",\n    ".join(f"{expr} AS _{name}" for name, expr in _RARE_KEYS.items())
    kept = ",\n    ".join(
        f"CASE WHEN _{n} NOT IN (SELECT _{n} FROM keyed WHERE _{n} IS NOT NULL GROUP BY 1 "
        f"HAVING count(*) > {int(cap)}) THEN _{n} END AS {n}"
        for n in _RARE_KEYS
    )
    excluded = ", ".join(f"_{n}" for n in _RARE_KEYS)
    return f"""
WITH base AS MATERIALIZED ({_BASE_SQL}),
keyed AS MATERIALIZED (SELECT *,\n    {raw}\nFROM base)
SELECT keyed.* EXCLUDE ({excluded}),\n    {kept}
FROM keyed
"""



# Largest block a rare-value key may form (pairs per block ≤ cap²/2).
RARE_KEY_CAP = 10


def present_fields(table: pa.Table) -> frozenset[str]:
    """Fields held for enough records to compare (at least two, so some pair can agree)."""
    return frozenset(
        c
        for c in link_model.ALL_FIELDS
        if c in table.column_names and table.num_rows - table.column(c).null_count >= 2
    )


def present_fields_in(con: duckdb.DuckDBPyConnection, name: str) -> frozenset[str]:
    """``present_fields`` of a table the connection holds (the incremental path's input)."""
    columns = [c for c in link_model.ALL_FIELDS if c in con.table(name).columns]
    if not columns:
        return frozenset()
    counts = one(con.execute(
        f"SELECT {', '.join(f'count({c})' for c in columns)} FROM {name}"  # noqa: S608
    )) or ()  # fmt: skip
    return frozenset(c for c, n in zip(columns, counts, strict=True) if n >= 2)


def register_forename_names(con: duckdb.DuckDBPyConnection, where: str = "") -> None:
    """Register ``_forename_names`` (name, forename_names): the nickname lookup for the first
    forename of the records ``where`` selects (all of them by default). The caller
    unregisters it."""
    forenames = pd.Series(
        [r[0] for r in con.execute(
            f"SELECT DISTINCT split_part(forename, ' ', 1) FROM records {where}"  # noqa: S608
            f"{' AND' if where else ' WHERE'} forename IS NOT NULL"
        ).fetchall()],
        dtype=object,
    )  # fmt: skip
    names = _forename_names(forenames)
    con.register("_forename_names", pa.table(
        {"name": list(names.keys()), "forename_names": list(names.values())},
        schema=pa.schema([("name", pa.string()), ("forename_names", pa.list_(pa.string()))]),
    ))  # fmt: skip


def prepare_input(
    con: duckdb.DuckDBPyConnection, only: list[str] | None = None, *, ordered: bool = True
) -> pa.Table:
    """The model's input: one row per record with derived blocking columns (Arrow, so a
    million records stay compact on their way to Splink). ``only`` limits it to the named
    records (to score one pair; their rare keys are then not the place's). ``ordered`` sorts
    by unique id, which training needs (its samples depend on row order, and a seeded run
    must repeat); the incremental path works on sets of ids and skips the sort (0.65 s at a
    million records)."""
    register_forename_names(con)
    try:
        sql = _input_sql(RARE_KEY_CAP)
        if only is not None:
            con.register("_only", pa.table({"unique_id": pa.array(only, pa.string())}))
            sql = sql.replace("FROM records\n", "FROM records WHERE source || '|' || record_id IN "
                              "(SELECT unique_id FROM _only)\n")  # fmt: skip
        table = con.sql(
            f"SELECT i.*, n.forename_names FROM ({sql}) i "  # noqa: S608
            "LEFT JOIN _forename_names n ON n.name = i.forename"
            + (" ORDER BY i.unique_id" if ordered else "")
        ).to_arrow_table()
    finally:
        con.unregister("_forename_names")
        con.unregister("_only")
    return table
