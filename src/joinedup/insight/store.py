"""The insight store: one DuckDB file per place holding everything person-level.

Sources and their governance, records, quarantine, persons, link runs and the place's
unit costs, deflators and cohort definitions live here, never in the app database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from joinedup.insight import processes

__all__ = [
    "INTERRUPTED", "RECORD_COLUMNS", "checkpoint", "connect", "create_if_missing",
    "fail_interrupted_runs", "has_table", "insight_path", "one", "open_store", "transaction",
]  # fmt: skip

# The columns of `records`, in order. Raw names are kept beside normalised ones because
# the analyst reading a person's records wants to see what the partner wrote.
RECORD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR NOT NULL"),
    ("record_id", "VARCHAR NOT NULL"),
    ("row_number", "INTEGER"),
    ("forename", "VARCHAR"),
    ("surname", "VARCHAR"),
    ("forename_raw", "VARCHAR"),
    ("surname_raw", "VARCHAR"),
    ("date_of_birth", "DATE"),
    ("sex", "VARCHAR"),
    ("postcode", "VARCHAR"),
    ("address_line", "VARCHAR"),
    ("uprn", "VARCHAR"),
    ("nhs_number", "VARCHAR"),
    ("ni_number", "VARCHAR"),
    ("email", "VARCHAR"),
    ("phone", "VARCHAR"),
    ("event_date", "DATE"),
    ("event_end_date", "DATE"),
    ("event_type", "VARCHAR"),
    ("need", "VARCHAR"),
    ("cost_item", "VARCHAR"),
    ("warnings", "VARCHAR"),
    # Last, so that a store made before them gains them in the same place (see the ALTERs
    # below): a previous surname, normalised and as the partner wrote it.
    ("previous_surname", "VARCHAR"),
    ("previous_surname_raw", "VARCHAR"),
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sources (
    name VARCHAR PRIMARY KEY,
    partner VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    need VARCHAR,
    cost_item VARCHAR,
    legal_basis VARCHAR,
    dsa_reference VARCHAR,
    retain_until DATE,
    file_name VARCHAR,
    content_hash VARCHAR,
    mapping_text VARCHAR,
    ingested_at TIMESTAMP,
    n_rows INTEGER,
    n_records INTEGER,
    n_quarantined INTEGER,
    n_warnings INTEGER,
    notes VARCHAR
);
CREATE TABLE IF NOT EXISTS records (
    {", ".join(f"{name} {kind}" for name, kind in RECORD_COLUMNS)},
    PRIMARY KEY (source, record_id)
);
CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR NOT NULL,
    row_number INTEGER NOT NULL,
    record_id VARCHAR,
    reasons VARCHAR NOT NULL,
    raw VARCHAR
);
CREATE TABLE IF NOT EXISTS person_links (
    source VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    PRIMARY KEY (source, record_id)
);
CREATE TABLE IF NOT EXISTS person_events (
    run_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    other_person_id VARCHAR,
    n_records INTEGER
);
CREATE SEQUENCE IF NOT EXISTS person_seq START 1;
CREATE TABLE IF NOT EXISTS link_runs (
    run_id INTEGER PRIMARY KEY,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    backend VARCHAR,
    status VARCHAR,
    stage VARCHAR,
    message VARCHAR,
    n_records INTEGER,
    n_comparisons BIGINT,
    n_pairs BIGINT,
    n_persons INTEGER,
    n_merges INTEGER,
    n_splits INTEGER,
    threshold DOUBLE,
    seed INTEGER,
    model_json VARCHAR,
    timings VARCHAR,
    pid INTEGER,
    host VARCHAR,
    process_start VARCHAR
);
-- Stores made before these columns existed gain them: the ingest report's notes on a
-- source, the process that runs a linkage run, and a record's previous surname (normalised,
-- and as written).
ALTER TABLE sources ADD COLUMN IF NOT EXISTS notes VARCHAR;
-- The mapping says the partner holds each person at most once (one_record_sources.py).
ALTER TABLE sources ADD COLUMN IF NOT EXISTS one_record_per_person BOOLEAN DEFAULT false;
ALTER TABLE link_runs ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE link_runs ADD COLUMN IF NOT EXISTS host VARCHAR;
ALTER TABLE link_runs ADD COLUMN IF NOT EXISTS process_start VARCHAR;
ALTER TABLE records ADD COLUMN IF NOT EXISTS previous_surname VARCHAR;
ALTER TABLE records ADD COLUMN IF NOT EXISTS previous_surname_raw VARCHAR;
CREATE TABLE IF NOT EXISTS link_pairs (
    run_id INTEGER,
    unique_id_l VARCHAR,
    unique_id_r VARCHAR,
    match_weight DOUBLE,
    match_probability DOUBLE
);
-- Pairs within a person that hold different NHS or NI numbers, as the model scored them
-- (conflicts.py): those at or below 1 - threshold keep their records apart.
CREATE TABLE IF NOT EXISTS link_conflict_pairs (
    run_id INTEGER,
    unique_id_l VARCHAR,
    unique_id_r VARCHAR,
    match_weight DOUBLE,
    match_probability DOUBLE
);
CREATE TABLE IF NOT EXISTS unit_costs (
    code VARCHAR PRIMARY KEY,
    domain VARCHAR,
    item VARCHAR,
    cost_gbp DOUBLE NOT NULL,
    unit VARCHAR,
    price_year VARCHAR,
    agency VARCHAR,
    source VARCHAR,
    edited BOOLEAN DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS deflators (
    financial_year VARCHAR PRIMARY KEY,
    idx DOUBLE NOT NULL,
    source VARCHAR
);
CREATE TABLE IF NOT EXISTS cohort_definitions (
    name VARCHAR PRIMARY KEY,
    label VARCHAR NOT NULL,
    needs VARCHAR NOT NULL,
    min_needs INTEGER NOT NULL,
    builtin BOOLEAN DEFAULT FALSE
);
-- Cohorts by more than needs (issue 8): a need rule with min_needs 0 means no need rule, so
-- the cohorts stored before these columns keep meaning what they meant.
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS min_services INTEGER;
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS max_services INTEGER;
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS min_partners INTEGER;
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS max_partners INTEGER;
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS age_bands VARCHAR DEFAULT '';
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS sexes VARCHAR DEFAULT '';
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS partners VARCHAR DEFAULT '';
ALTER TABLE cohort_definitions ADD COLUMN IF NOT EXISTS known_sources VARCHAR DEFAULT '';
CREATE TABLE IF NOT EXISTS settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
"""

INTERRUPTED = "interrupted: the process running it stopped before it finished"

_SLUG = re.compile(r"^[a-z0-9][a-z0-9\-_]{0,62}$")


def insight_path(insight_dir: Path, place_slug: str) -> Path:
    """The place's DuckDB file; the slug is checked so it cannot escape the directory."""
    if not _SLUG.match(place_slug):
        raise ValueError(f"place slug {place_slug!r} is not a valid slug")
    return insight_dir / f"{place_slug}.duckdb"


# How long an open waits for another thread of this process to finish closing the same file.
# DuckDB shares one database per file within a process; while the last connection of that
# database is being torn down (a checkpoint after a linkage run can take a second or more),
# a new open finds no shared database and cannot attach the file a second time. The
# teardown always ends, so waiting is right; an error after this long names the file.
OPEN_WAIT_SECONDS = 30.0


def _open_shared(path: Path, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_seconds
    pause = 0.02
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.ResourceInUseException as exc:
            if "file handle conflict" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def connect(
    path: Path, *, memory_limit: str = "2GB", threads: int = 2, wait_seconds: float = OPEN_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open (creating if need be) a place's store with its schema and memory cap."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open_shared(path, wait_seconds)
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    spill = path.parent / "tmp"
    con.execute(f"SET temp_directory = '{spill.as_posix()}'")
    con.execute(_SCHEMA)
    fail_interrupted_runs(con)
    return con


def fail_interrupted_runs(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Mark failed every run still 'running' whose process has gone (killed, crashed or
    restarted mid-way), so that no run stays 'running' for good. Returns their ids."""
    running = con.execute(
        "SELECT run_id, pid, host, process_start FROM link_runs "
        "WHERE status = 'running' AND pid IS NOT NULL"
    ).fetchall()
    gone = [run_id for run_id, pid, host, start in running if processes.is_gone(pid, host, start)]
    for run_id in gone:
        con.execute(
            "UPDATE link_runs SET status = 'failed', finished_at = ?, message = ? WHERE run_id = ?",
            [datetime.now(), INTERRUPTED, run_id],
        )
    return gone


@contextmanager
def open_store(
    insight_dir: Path, place_slug: str, *, memory_limit: str = "2GB", threads: int = 2
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(insight_path(insight_dir, place_slug), memory_limit=memory_limit, threads=threads)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: roll back every change if anything inside fails."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def create_if_missing(con: duckdb.DuckDBPyConnection, ddl: str, attempts: int = 5) -> None:
    """Run ``ddl`` (CREATE … IF NOT EXISTS statements) on a store another connection may be
    creating the same tables in at the same moment: a page read a run's details while the run,
    in its own thread, made the tables, and DuckDB refused the page's CREATE with a catalog
    write-write conflict (a 500 in CI). The other connection's tables are there once it
    commits, so the statement is tried again."""
    for attempt in range(attempts):
        try:
            con.execute(ddl)
            return
        except duckdb.TransactionException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def checkpoint(con: duckdb.DuckDBPyConnection, attempts: int = 6) -> None:
    """Write what was committed into the store's file now, so that deleted rows leave it and
    not just its index (a removed source). A plain CHECKPOINT can be refused while another
    connection of the process is writing: in CI a source was deleted while the dashboard's
    figures were being warmed after the upload before it, and the page showed an error,
    though the deletion had been committed. So it is tried again, then forced, which waits
    for the other writer (DuckDB 1.4 and later)."""
    for attempt in range(attempts):
        try:
            con.execute("CHECKPOINT")
            return
        except duckdb.TransactionException:
            time.sleep(0.05 * (attempt + 1))
    con.execute("FORCE CHECKPOINT")


def one(result: duckdb.DuckDBPyConnection) -> Any:
    """The first row of a result, or None; reads the result to its end, which DuckDB needs
    before the connection can register a table or run another statement."""
    rows = result.fetchall()
    return rows[0] if rows else None


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """The store holds a table ``name`` (not a temporary one of this connection)."""
    return bool(
        con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [name]
        ).fetchall()
    )
