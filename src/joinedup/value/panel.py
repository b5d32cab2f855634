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
    """First and last event date of the partners' records: the span their extracts cover
    (the programme's own caseload extract left out: its dates are entries, not outcomes)."""
    row = con.execute(
        "SELECT min(event_date), max(event_date) FROM records WHERE source IS DISTINCT FROM ?",
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
    width = len(quarters)
    grid = pd.DataFrame({"person_id": np.repeat(people, width), "quarter": np.tile(quarters, len(people))})
    # Scatter the sums into the full grid (a quarter with no events stays 0): numpy, not a
    # pandas pivot, which is slow at a million records.
    row = pd.Index(people).get_indexer(events["person_id"]) * width + (events["quarter"].to_numpy() + before)
    for key in keys:
        values = np.zeros(len(grid))
        mine = (events["key"] == key).to_numpy()
        np.add.at(values, row[mine], events["amount"].to_numpy()[mine])
        grid[key] = values
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
    persons are drawn from the same calendar time. One pass over the records in DuckDB."""
    needs = [r[0] for r in con.execute(
        "SELECT DISTINCT need FROM records WHERE need IS NOT NULL AND source IS DISTINCT FROM ? ORDER BY 1",
        [exclude_source],
    ).fetchall()]  # fmt: skip
    services = [r[0] for r in con.execute(
        "SELECT DISTINCT service FROM sources WHERE name IS DISTINCT FROM ? ORDER BY 1", [exclude_source]
    ).fetchall()]  # fmt: skip
    days = round(before * QUARTER_DAYS)
    parts = ["any_value(r.sex) FILTER (WHERE r.sex IN ('F', 'M')) AS sex", "min(r.date_of_birth) AS dob"]
    params: list[object] = []
    for i, need in enumerate(needs):
        parts.append(
            f"max(CASE WHEN r.need = ? AND r.event_date < e.entry_date AND own THEN 1 ELSE 0 END) AS n{i}"
        )
        params.append(need)
    for i, service in enumerate(services):
        parts.append(
            f"count(*) FILTER (WHERE s.service = ? AND own AND r.event_date < e.entry_date "
            f"AND r.event_date >= e.entry_date - {days}) AS u{i}"
        )
        params.append(service)
    con.register("value_entries", entries[["person_id", "entry_date"]])
    try:
        frame = con.execute(
            f"""
            SELECT e.person_id, any_value(e.entry_date) AS entry_date, {", ".join(parts)}
            FROM value_entries e
            JOIN person_links l ON l.person_id = e.person_id
            JOIN (SELECT source, record_id, sex, date_of_birth, need, event_date,
                         source IS DISTINCT FROM ? AS own FROM records) r USING (source, record_id)
            JOIN sources s ON s.name = r.source
            GROUP BY e.person_id
            """,  # noqa: S608
            [*params, exclude_source],
        ).df()
    finally:
        con.unregister("value_entries")
    frame = entries[["person_id"]].merge(frame.drop(columns=[], errors="ignore"), on="person_id", how="left")
    entry = pd.to_datetime(frame["entry_date"])
    age = (entry - pd.to_datetime(frame["dob"])).dt.days / 365.25
    bands = pd.cut(age, [-np.inf, 25, 35, 45, 55, np.inf], right=False,
                   labels=["age: under 25", "age: 25 to 34", "age: 35 to 44", "age: 45 to 54",
                           "age: 55 and over"])  # fmt: skip
    out = {"person_id": frame["person_id"].to_numpy()}
    for label in bands.cat.categories:
        out[str(label)] = (bands == label).to_numpy(dtype=float)
    out["age: unknown"] = bands.isna().to_numpy(dtype=float)
    out["sex: female"] = (frame["sex"] == "F").to_numpy(dtype=float)
    out["sex: unknown"] = (~frame["sex"].isin(["F", "M"])).to_numpy(dtype=float)
    out["entry date (days)"] = (entry - entry.min()).dt.days.to_numpy(dtype=float)
    for i, need in enumerate(needs):
        out[f"need: {need}"] = frame[f"n{i}"].fillna(0).to_numpy(dtype=float)
    for i, service in enumerate(services):
        out[f"prior use: {service}"] = frame[f"u{i}"].fillna(0).to_numpy(dtype=float)
    return pd.DataFrame(out)
