"""Overlaps: how many persons have each combination of needs, and of services.

The figures behind an UpSet-style chart: each combination is exclusive (a person with
homelessness and offending counts once, in 'homelessness + offending', not in
'homelessness' alone), so the rows add up to the persons counted.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from joinedup.insight.analysis import person_needs_sql, person_services_sql

__all__ = ["need_combinations", "service_combinations", "set_sizes", "known_to_services"]

SEPARATOR = " + "


def need_combinations(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"""
        SELECT combination, n_items, count(*) AS persons FROM (
            SELECT person_id, string_agg(need, '{SEPARATOR}' ORDER BY need) AS combination,
                   count(*) AS n_items
            FROM ({person_needs_sql}) GROUP BY person_id
        ) GROUP BY combination, n_items ORDER BY persons DESC, combination
        """  # noqa: S608
    ).df()


def service_combinations(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"""
        SELECT combination, n_items, count(*) AS persons FROM (
            SELECT person_id, string_agg(service, '{SEPARATOR}' ORDER BY service) AS combination,
                   count(*) AS n_items
            FROM ({person_services_sql}) GROUP BY person_id
        ) GROUP BY combination, n_items ORDER BY persons DESC, combination
        """  # noqa: S608
    ).df()


def set_sizes(con: duckdb.DuckDBPyConnection, kind: str = "need") -> pd.DataFrame:
    """Persons with each need (or known to each service), for the UpSet chart's bars."""
    if kind == "need":
        sql = f"SELECT need AS item, count(*) AS persons FROM ({person_needs_sql}) GROUP BY need"
    else:
        sql = (
            f"SELECT service AS item, count(DISTINCT person_id) AS persons "
            f"FROM ({person_services_sql}) GROUP BY service"
        )
    return con.execute(sql + " ORDER BY persons DESC, item").df()  # noqa: S608


def known_to_services(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Persons by how many services know them (1, 2, 3 …)."""
    return con.execute(
        f"""
        SELECT n_services, count(*) AS persons FROM (
            SELECT person_id, count(DISTINCT source) AS n_services
            FROM ({person_services_sql}) GROUP BY person_id
        ) GROUP BY n_services ORDER BY n_services
        """  # noqa: S608
    ).df()
