"""What the store holds of a source, against an incoming file, and its replacement.

An identical file with the same mapping (the same digest) changes nothing; anything else
replaces the source's records and quarantine in one transaction. Both touch the store, so
they run in the process that holds it; the reading between them (ingest.read_and_prepare)
does not, so the manifest can run it in other processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight import normalise as nz
from joinedup.insight import review
from joinedup.insight.ingest_report import IngestError, IngestReport, PreparedExtract
from joinedup.insight.mapping import Mapping
from joinedup.insight.store import RECORD_COLUMNS, has_table, one, transaction

__all__ = ["Held", "held_source", "leaving_records", "records_table", "write_extract"]


@dataclass(frozen=True)
class Held:
    """What the store holds of a source against an incoming file: the file's digest, whether
    the source exists already, and its report when the file and mapping are the same."""

    digest: str
    replaced: bool
    unchanged: IngestReport | None


def held_source(
    con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping, name: str, display: str
) -> Held:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{display}: cannot be read ({exc.strerror})") from exc
    digest = hashlib.sha256(data + b"\0" + mapping.text.encode("utf-8")).hexdigest()
    held = one(
        con.execute(
            "SELECT content_hash, n_rows, n_records, n_quarantined FROM sources WHERE name = ?",
            [name],
        )
    )
    unchanged = None
    if held and held[0] == digest:
        unchanged = IngestReport(
            source=name, file_name=display, rows=held[1], records=held[2], quarantined=held[3],
            unchanged=True,
        )  # fmt: skip
    return Held(digest, held is not None, unchanged)


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "VARCHAR NOT NULL": pa.string(),
    "INTEGER": pa.int64(),
    "DATE": pa.date32(),
}
_RECORDS_SCHEMA = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in RECORD_COLUMNS])


def records_table(records: pd.DataFrame) -> pd.DataFrame | pa.Table:
    """The prepared records as an Arrow table of the store's column types, for a process that
    prepared them to hand to the one that writes them; the frame itself if a value will not
    go into its column's type (the writer then reads the frame, as it does in one process).

    A table of a million records crosses between processes in a fifth of the time a frame of
    Python objects does, and DuckDB reads it in two thirds of the time (docs/benchmarks.md)."""
    try:
        return pa.Table.from_pandas(records, schema=_RECORDS_SCHEMA, preserve_index=False)
    except (pa.ArrowException, UnicodeEncodeError):
        return records


def write_extract(
    con: duckdb.DuckDBPyConnection, prepared: PreparedExtract, mapping: Mapping, digest: str
) -> None:
    """Replace the source's records and quarantine in one transaction, with analysts'
    decisions on the records that leave with the old extract (leaving_records)."""
    report = prepared.report
    records = prepared.records
    quarantine = prepared.quarantine
    with transaction(con):
        con.register("_incoming_records", records)
        leaving = leaving_records(con, report.source)
        con.register("_leaving", leaving)
        report.records_gone = pc.sum(pc.invert(leaving["reissued"])).as_py() or 0
        report.records_reissued = pc.sum(leaving["reissued"]).as_py() or 0
        report.decisions_gone = _decisions_on(con, "_leaving")
        if len(leaving):
            report.notes.append(report.gone_note())
        con.execute("DELETE FROM records WHERE source = ?", [report.source])
        con.execute("DELETE FROM quarantine WHERE source = ?", [report.source])
        con.execute("DELETE FROM sources WHERE name = ?", [report.source])
        con.execute(
            "INSERT INTO sources (name, partner, service, need, cost_item, legal_basis, "
            "dsa_reference, retain_until, file_name, content_hash, mapping_text, ingested_at, "
            "n_rows, n_records, n_quarantined, n_warnings, notes, one_record_per_person) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report.source, mapping.partner, mapping.service,
                nz.normalise_need(mapping.need) if mapping.need else None, mapping.cost_item,
                mapping.legal_basis, mapping.dsa_reference, mapping.retain_until,
                report.file_name, digest, mapping.text, datetime.now(),
                report.rows, report.records, report.quarantined, report.warnings,
                "\n".join(report.notes) or None,  # one note a line, for the source's page
                mapping.one_record_per_person,
            ],
        )  # fmt: skip
        columns = ", ".join(name for name, _ in RECORD_COLUMNS)
        con.execute(f"INSERT INTO records ({columns}) SELECT {columns} FROM _incoming_records")
        con.unregister("_incoming_records")
        if len(quarantine):
            con.register("_incoming_quarantine", quarantine)
            con.execute(
                "INSERT INTO quarantine SELECT source, row_number, record_id, reasons, raw "
                "FROM _incoming_quarantine"
            )
            con.unregister("_incoming_quarantine")
        review.forget_ids(con, "_leaving")
        con.unregister("_leaving")


def leaving_records(con: duckdb.DuckDBPyConnection, source: str) -> pa.Table:
    """The source's records that leave with this replacement (the incoming extract is
    ``_incoming_records``), as ``unique_id`` and ``reissued``: ids the extract no longer holds,
    and ids it holds for somebody else, whose forename, surname and date of birth all
    changed (a correction changes one or two; a reissued id changes them all). Analysts'
    decisions on them go (review.forget_ids) and the source's page says so: nothing leaves
    the store without the analyst being told."""
    return con.sql(
        """
        SELECT ? || r.record_id AS unique_id, i.record_id IS NOT NULL AS reissued
        FROM records r LEFT JOIN _incoming_records i ON i.record_id = r.record_id
        WHERE r.source = ? AND (i.record_id IS NULL OR (
            r.forename IS DISTINCT FROM i.forename AND r.surname IS DISTINCT FROM i.surname
            AND r.date_of_birth IS DISTINCT FROM i.date_of_birth))
        ORDER BY 1
        """,
        params=[source + "|", source],
    ).to_arrow_table()


def _decisions_on(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    if not has_table(con, "review_decisions"):
        return 0
    found = one(con.execute(
        f"SELECT count(*) FROM review_decisions WHERE unique_id_l IN (SELECT unique_id FROM {relation}) "  # noqa: S608
        f"OR unique_id_r IN (SELECT unique_id FROM {relation})"
    ))  # fmt: skip
    return int(found[0]) if found else 0
