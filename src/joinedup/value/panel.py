"""Person × quarter counts around each person's entry date, built in DuckDB.

A quarter is a quarter of a year (91.3125 days) counted from the person's entry date:
quarter -1 is the 91 days before entry, quarter 0 the 91 days from it. A person is
analysed only when the whole window (``window_before`` quarters before entry and
``window_after`` from it) lies inside the data, so that a quarter with no events is a true
zero and not a quarter the partners' extracts do not cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from joinedup.value.account import MeasureSpec

__all__ = ["QUARTER_DAYS", "DataWindow", "covariates", "data_window", "fits_window", "measure_panel"]

QUARTER_DAYS = 365.25 / 4


@dataclass(frozen=True)
class DataWindow:
    start: date
    end: date


def data_window(con: duckdb.DuckDBPyConnection, exclude_source: str | None = None) -> DataWindow | None:
    """First and last event date of the place's linked records (the programme's own
    caseload extract left out: its dates are entries, not outcomes)."""
    row = con.execute(
        "SELECT min(r.event_date), max(r.event_date) FROM records r "
        "JOIN person_links l USING (source, record_id) WHERE r.source IS DISTINCT FROM ?",
        [exclude_source],
    ).fetchall()
    if not row or row[0][0] is None:
        return None
    return DataWindow(row[0][0], row[0][1])


def fits_window(entries: pd.Series, window: DataWindow, before: int, after: int) -> np.ndarray:
    """Which entry dates leave the whole before and after window inside the data."""
    dates = pd.to_datetime(entries)
    first = pd.Timestamp(window.start) + pd.Timedelta(days=before * QUARTER_DAYS)
    last = pd.Timestamp(window.end) - pd.Timedelta(days=after * QUARTER_DAYS) + timedelta(days=1)
    return np.asarray((dates >= first) & (dates <= last))


def _measure_map(measures: Sequence[MeasureSpec]) -> pd.DataFrame:
    rows = []
    for spec in measures:
        for service in spec.services:
            for event_type in spec.event_types or (None,):
                rows.append(
                    {
                        "key": spec.key,
                        "service": service,
                        "event_type": event_type,
                        "nights": spec.statistic == "nights",
                    }
                )
    return pd.DataFrame(rows, columns=["key", "service", "event_type", "nights"])


def measure_panel(
    con: duckdb.DuckDBPyConnection,
    entries: pd.DataFrame,
    measures: Sequence[MeasureSpec],
    before: int,
    after: int,
    exclude_source: str | None = None,
) -> pd.DataFrame:
    """Long panel: person_id, quarter (−before … after−1), post, and one column per measure,
    with a row for every person and quarter (zeros included). ``entries`` has person_id and
    entry_date."""
    con.register("value_entries", entries[["person_id", "entry_date"]])
    con.register("value_measures", _measure_map(measures))
    try:
        events = con.execute(
            f"""
            WITH ev AS (
                SELECT e.person_id, m.key,
                       CAST(floor(date_diff('day', e.entry_date, r.event_date) / {QUARTER_DAYS})
                            AS INTEGER) AS quarter,
                       CASE WHEN m.nights
                            THEN greatest(date_diff('day', r.event_date,
                                                    coalesce(r.event_end_date, r.event_date)), 0)
                            ELSE 1 END AS amount
                FROM records r
                JOIN person_links l USING (source, record_id)
                JOIN value_entries e ON e.person_id = l.person_id
                JOIN sources s ON s.name = r.source
                JOIN value_measures m ON (m.service = s.service OR m.service = s.name)
                     AND (m.event_type IS NULL OR m.event_type = r.event_type)
                WHERE r.source IS DISTINCT FROM ?
            )
            SELECT person_id, key, quarter, sum(amount)::DOUBLE AS amount FROM ev
            WHERE quarter >= ? AND quarter < ?
            GROUP BY ALL
            """,  # noqa: S608
            [exclude_source, -before, after],
        ).df()
    finally:
        con.unregister("value_entries")
        con.unregister("value_measures")
    keys = [m.key for m in measures]
    people = entries["person_id"].to_numpy()
    quarters = np.arange(-before, after)
    grid = pd.DataFrame(
        {"person_id": np.repeat(people, len(quarters)), "quarter": np.tile(quarters, len(people))}
    )
    if len(events):
        wide = events.pivot_table(
            index=["person_id", "quarter"], columns="key", values="amount", aggfunc="sum"
        ).reset_index()
        grid = grid.merge(wide, on=["person_id", "quarter"], how="left")
    for key in keys:
        grid[key] = grid[key].fillna(0.0) if key in grid else 0.0
    grid["post"] = (grid["quarter"] >= 0).astype(np.int8)
    return grid[["person_id", "quarter", "post", *keys]]


def covariates(
    con: duckdb.DuckDBPyConnection,
    entries: pd.DataFrame,
    before: int,
    exclude_source: str | None = None,
) -> pd.DataFrame:
    """What was known about each person before entry, one row per person: each need
    recorded before entry, age band and sex at entry, use of each service in the before
    window, and the entry date itself (days since the first entry), so that comparison
    persons are drawn from the same calendar time."""
    con.register("value_entries", entries[["person_id", "entry_date"]])
    try:
        base = con.execute(
            """
            SELECT e.person_id, any_value(e.entry_date) AS entry_date,
                   mode(r.sex) AS sex, min(r.date_of_birth) AS dob
            FROM value_entries e
            JOIN person_links l ON l.person_id = e.person_id
            JOIN records r USING (source, record_id)
            GROUP BY e.person_id
            """
        ).df()
        needs = con.execute(
            """
            SELECT DISTINCT e.person_id, 'need: ' || r.need AS var
            FROM value_entries e
            JOIN person_links l ON l.person_id = e.person_id
            JOIN records r USING (source, record_id)
            WHERE r.need IS NOT NULL AND r.event_date < e.entry_date
              AND r.source IS DISTINCT FROM ?
            """,
            [exclude_source],
        ).df()
        use = con.execute(
            f"""
            SELECT e.person_id, 'prior use: ' || s.service AS var, count(*)::DOUBLE AS n
            FROM value_entries e
            JOIN person_links l ON l.person_id = e.person_id
            JOIN records r USING (source, record_id)
            JOIN sources s ON s.name = r.source
            WHERE r.event_date < e.entry_date
              AND r.event_date >= e.entry_date - CAST(round({before} * {QUARTER_DAYS}) AS INTEGER)
              AND r.source IS DISTINCT FROM ?
            GROUP BY ALL
            """,  # noqa: S608
            [exclude_source],
        ).df()
    finally:
        con.unregister("value_entries")
    frame = entries[["person_id"]].merge(base, on="person_id", how="left")
    entry = pd.to_datetime(frame["entry_date"])
    age = (entry - pd.to_datetime(frame["dob"])).dt.days / 365.25
    bands = pd.cut(
        age,
        [-np.inf, 25, 35, 45, 55, np.inf],
        right=False,
        labels=["age: under 25", "age: 25 to 34", "age: 35 to 44", "age: 45 to 54", "age: 55 and over"],
    )
    out = pd.DataFrame({"person_id": frame["person_id"]})
    for label in bands.cat.categories:
        out[str(label)] = (bands == label).astype(float)
    out["age: unknown"] = bands.isna().astype(float)
    out["sex: female"] = (frame["sex"] == "F").astype(float)
    out["sex: unknown"] = (~frame["sex"].isin(["F", "M"])).astype(float)
    out["entry date (days)"] = (entry - entry.min()).dt.days.astype(float)
    if len(needs):
        flags = pd.crosstab(needs["person_id"], needs["var"]).clip(upper=1).astype(float)
        out = out.merge(flags, left_on="person_id", right_index=True, how="left")
    if len(use):
        counts = use.pivot_table(index="person_id", columns="var", values="n", aggfunc="sum")
        out = out.merge(counts, left_on="person_id", right_index=True, how="left")
    return out.fillna(0.0)
