"""A model's comparison levels, and which of them one pair of records takes: each level's
SQL, in the model's order, on the pair, the first that holds being the pair's (as Splink's
CASE WHEN does); and ``level_of`` for a pair of values of one field."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from joinedup.insight.model import ALL_FIELDS, settings


def comparison_levels(
    present: frozenset[str], comparison: str, dialect: str = "duckdb"
) -> list[dict[str, Any]]:
    """The levels of one comparison of the model for fields ``present`` in ``dialect``'s SQL,
    null level first."""
    model = settings(present).get_settings(dialect).as_dict()
    (found,) = [c for c in model["comparisons"] if c["output_column_name"] == comparison]
    return list(found["comparison_levels"])


def level_taken(levels: list[dict[str, Any]], pair: dict[str, Any]) -> str:
    """The label of the first level after the null level whose SQL holds for ``pair``
    (its columns with ``_l`` and ``_r``)."""
    con = duckdb.connect()
    con.register("pair", pd.DataFrame([pair]))
    for found in levels[1:]:
        sql = found["sql_condition"]
        if sql == "ELSE" or con.execute(f"SELECT coalesce(({sql}), false) FROM pair").fetchone() == (True,):  # noqa: S608
            return str(found.get("label_for_charts"))
    raise AssertionError("no level took the pair")  # an ELSE level takes every pair


def level_of(comparison: str, left: str | None, right: str | None) -> str:
    """The label of the first level of the model's ``comparison`` (for every field) that the
    pair of values meets, the whole comparison run as one CASE WHEN in DuckDB. The other
    columns some levels read (a surname, a forename's names) are null or empty."""

    def quoted(level: dict[str, Any]) -> str:  # a label may hold an apostrophe (a woman's)
        return "'" + str(level.get("label_for_charts")).replace("'", "''") + "'"

    case = " ".join(
        f"ELSE {quoted(level)}"
        if level["sql_condition"] == "ELSE"
        else f"WHEN {level['sql_condition']} THEN {quoted(level)}"
        for level in comparison_levels(ALL_FIELDS, comparison)
    )
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE pair AS SELECT CAST(? AS VARCHAR) AS {comparison}_l,"
        f" CAST(? AS VARCHAR) AS {comparison}_r,"
        " CAST(NULL AS VARCHAR) AS surname_l, CAST(NULL AS VARCHAR) AS surname_r,"
        " CAST([] AS VARCHAR[]) AS forename_names_l, CAST([] AS VARCHAR[]) AS forename_names_r",
        [left, right],
    )
    (label,) = con.execute(f"SELECT CASE {case} END FROM pair").fetchone()  # type: ignore[misc]
    return str(label)
