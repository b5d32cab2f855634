"""The partner network: for each pair of services, the persons they share.

A pair is flagged as **ships in the night** when the two services share many people but no
collaboration of the place includes both partners: the people are joined up, the partners
are not.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from joinedup.insight.analysis import person_services_sql

__all__ = ["MIN_SHARED", "MIN_SHARE", "service_network"]

# 'Many people': at least this many persons and this share of the smaller caseload.
MIN_SHARED = 10
MIN_SHARE = 0.1


def service_network(
    con: duckdb.DuckDBPyConnection,
    collaborating_partners: Iterable[frozenset[str]] = (),
) -> pd.DataFrame:
    """One row per pair of services with shared persons, largest first."""
    together = {frozenset(p) for p in collaborating_partners}
    frame = con.execute(
        f"""
        WITH ps AS ({person_services_sql}),
        caseload AS (SELECT source, count(DISTINCT person_id) AS n FROM ps GROUP BY source)
        SELECT a.source AS source_a, a.partner AS partner_a, a.service AS service_a,
               b.source AS source_b, b.partner AS partner_b, b.service AS service_b,
               count(DISTINCT a.person_id) AS shared,
               ca.n AS caseload_a, cb.n AS caseload_b
        FROM ps a JOIN ps b ON a.person_id = b.person_id AND a.source < b.source
        JOIN caseload ca ON ca.source = a.source
        JOIN caseload cb ON cb.source = b.source
        GROUP BY ALL
        ORDER BY shared DESC, source_a, source_b
        """  # noqa: S608
    ).df()
    if frame.empty:
        for column in ("share_of_a", "share_of_b", "same_partner", "collaborating",
                       "ships_in_the_night"):  # fmt: skip
            frame[column] = pd.Series(dtype=object)
        return frame
    frame["share_of_a"] = frame["shared"] / frame["caseload_a"]
    frame["share_of_b"] = frame["shared"] / frame["caseload_b"]
    frame["same_partner"] = frame["partner_a"] == frame["partner_b"]
    frame["collaborating"] = [
        frozenset((a, b)) in together or a == b
        for a, b in zip(frame["partner_a"], frame["partner_b"], strict=True)
    ]
    smaller = frame[["caseload_a", "caseload_b"]].min(axis=1)
    many = (frame["shared"] >= MIN_SHARED) & (frame["shared"] / smaller >= MIN_SHARE)
    frame["ships_in_the_night"] = many & ~frame["collaborating"]
    return frame
