"""A synthetic place fed in monthly batches, and the persons a full re-link gives: what the
incremental path's tests compare it with."""

from __future__ import annotations

import csv
import shutil
import tomllib
from datetime import date, datetime
from pathlib import Path

import duckdb

from joinedup.insight.link import link_place
from joinedup.insight.model import DEFAULT_THRESHOLD
from joinedup.insight.store import connect
from tests.support.persons import partition

# Cumulative cut-offs by event month: each batch is every row whose event fell on or
# before the month (rows without an event date arrive with the first batch).
CUTOFFS = [date(2023, 10, 1), date(2024, 4, 1), date(2024, 10, 1), date(2099, 1, 1)]


def _event_spec(mapping: Path) -> tuple[str, str]:
    spec = tomllib.loads(mapping.read_text(encoding="utf-8"))["columns"]["event_date"]
    if isinstance(spec, str):
        return spec, "%Y-%m-%d"
    return spec["column"], spec["format"]


def write_batches(extracts: Path, out: Path, cutoffs: list[date]) -> list[Path]:
    """Directories holding each batch's cumulative extracts, split by event month."""
    dirs = []
    for k, cutoff in enumerate(cutoffs):
        batch = out / f"batch{k}"
        batch.mkdir(parents=True)
        for mapping in sorted(extracts.glob("*.toml")):
            source = extracts / f"{mapping.stem}.csv"
            text = source.read_text(encoding="utf-8")
            header = text.splitlines()[0]
            delimiter = next(d for d in ("\t", ";", ",") if d in header)
            rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
            column, fmt = _event_spec(mapping)
            at = rows[0].index(column)

            def keep(row: list[str], at: int = at, fmt: str = fmt, cutoff: date = cutoff) -> bool:
                try:
                    return datetime.strptime(row[at], fmt).date() < cutoff
                except ValueError:
                    return True

            kept = [rows[0]] + [r for r in rows[1:] if keep(r)]
            if len(kept) < 2:
                continue
            with (batch / source.name).open("w", encoding="utf-8", newline="") as handle:
                csv.writer(handle, delimiter=delimiter).writerows(kept)
            shutil.copy(mapping, batch / mapping.name)
        dirs.append(batch)
    return dirs


def full_relink_partition(
    con: duckdb.DuckDBPyConnection, tmp: Path, name: str, threshold: float = DEFAULT_THRESHOLD
) -> set[frozenset[str]]:
    """The persons a full re-link with the stored model gives, on a copy of the store."""
    con.execute("CHECKPOINT")
    copy = tmp / f"{name}.duckdb"
    shutil.copy(tmp / "place.duckdb", copy)
    other = connect(copy, memory_limit="500MB", threads=1)
    try:
        link_place(other, work_dir=tmp / f"work-{name}", mode="full", retrain=False, threshold=threshold)
        return partition(other)
    finally:
        other.close()
