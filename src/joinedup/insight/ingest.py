"""Ingest a partner extract into a place's insight store, whole or not at all.

Every input row ends up either as a record or in quarantine with its reasons. Invalid
identifiers are set aside with a warning for the row; a row is quarantined only when it
cannot be used at all. Re-ingesting identical content is a no-op; a new file for an
existing source replaces its records in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from joinedup.insight import normalise as nz
from joinedup.insight.mapping import DATE_FIELDS, ColumnSpec, Mapping, MappingError, load_mapping
from joinedup.insight.readers import ReadError, read_extract
from joinedup.insight.store import RECORD_COLUMNS, one, transaction

__all__ = ["IngestError", "IngestReport", "ingest_file", "prepare_extract"]

# Above this share of rows with a repeated record_id, the mapping has surely named the
# wrong column; quarantining most of the file would hide that mistake.
MAX_DUPLICATE_SHARE = 0.5
# Above this share of unparseable dates, the mapping's format is wrong for the column.
MAX_BAD_DATE_SHARE = 0.5

_NORMALISERS: dict[str, Callable[[object], object]] = {
    "postcode": nz.normalise_postcode,
    "uprn": nz.normalise_uprn,
    "nhs_number": nz.normalise_nhs_number,
    "ni_number": nz.normalise_ni_number,
    "email": nz.normalise_email,
    "phone": nz.normalise_phone,
    "sex": nz.normalise_sex,
    "need": nz.normalise_need,
    "address_line": lambda v: t.upper() if (t := nz.clean_text(v)) else None,
    "event_type": nz.clean_text,
    "cost_item": nz.clean_text,
}


class IngestError(ValueError):
    """The extract cannot be ingested; the place is unchanged."""


@dataclass
class IngestReport:
    source: str
    file_name: str
    rows: int = 0
    records: int = 0
    quarantined: int = 0
    warnings: int = 0
    unchanged: bool = False
    replaced: bool = False
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    warning_kinds: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.source}: identical to what is held already; nothing changed"
        verb = "replaced" if self.replaced else "ingested"
        text = (
            f"{self.source}: {verb} {self.rows:,} rows: {self.records:,} records, "
            f"{self.quarantined:,} quarantined, {self.warnings:,} values set aside"
        )
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "file_name": self.file_name,
            "rows": self.rows,
            "records": self.records,
            "quarantined": self.quarantined,
            "warnings": self.warnings,
            "unchanged": self.unchanged,
            "replaced": self.replaced,
            "quarantine_reasons": dict(self.quarantine_reasons),
            "warning_kinds": dict(self.warning_kinds),
        }


@dataclass
class PreparedExtract:
    """A validated extract ready to write: records, quarantine and the report."""

    records: pd.DataFrame
    quarantine: pd.DataFrame
    report: IngestReport


def _map_unique(series: pd.Series, fn: Callable[[object], object], label: str) -> tuple[pd.Series, pd.Series]:
    """Apply a scalar normaliser once per distinct value (extracts repeat values a lot)."""
    values: dict[object, object] = {}
    problems: dict[object, str | None] = {}
    for raw in series.dropna().unique():
        try:
            values[raw] = fn(raw)
            problems[raw] = None
        except nz.InvalidValue as exc:
            values[raw] = None
            problems[raw] = f"{label}: {exc}"
    return series.map(values), series.map(problems)


def _map_fast(series: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """series.map(fn) computed once per distinct value, for functions that cannot fail."""
    values = {raw: fn(raw) for raw in series.dropna().unique()}
    return series.map(values)


def _find_column(frame: pd.DataFrame, spec: ColumnSpec, mapping: Mapping, file_name: str) -> str:
    if spec.column in frame.columns:
        return spec.column
    # Forgive case and surrounding spaces, which partners change between extracts.
    folded = {c.strip().lower(): c for c in frame.columns}
    if spec.column.strip().lower() in folded:
        return folded[spec.column.strip().lower()]
    shown = ", ".join(repr(c) for c in list(frame.columns)[:12])
    raise IngestError(
        f"{mapping.where(spec)}: column {spec.column!r} for {spec.field} is not in "
        f"{file_name} (its columns are {shown})"
    )


def source_name_for(mapping: Mapping, mapping_path: Path | None, name: str | None) -> str:
    chosen = name or mapping.name or (mapping_path.stem if mapping_path else None)
    if not chosen:
        raise IngestError("the source needs a name: pass --source NAME")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-. ]{0,79}", chosen):
        raise IngestError(f"source name {chosen!r} must be letters, digits, spaces, _ - or .")
    return chosen


def prepare_extract(frame: pd.DataFrame, mapping: Mapping, source: str, file_name: str) -> PreparedExtract:
    """Validate and normalise an extract in memory; raise IngestError if it is unusable."""
    report = IngestReport(source=source, file_name=file_name, rows=len(frame))
    n = len(frame)
    columns = {spec.field: _find_column(frame, spec, mapping, file_name) for spec in mapping.columns}
    out = pd.DataFrame(index=frame.index)
    warnings: list[pd.Series] = []

    def raw(field_name: str) -> pd.Series:
        return _map_fast(frame[columns[field_name]], nz.clean_text)

    out["source"] = source
    out["row_number"] = pd.RangeIndex(2, n + 2)  # spreadsheet rows: the header is row 1
    out["record_id"] = raw("record_id")

    # Names: keep what the partner wrote; split a full name only where parts are missing.
    for part in ("forename", "surname"):
        if part in columns:
            out[f"{part}_raw"] = raw(part)
            out[part] = _map_fast(out[f"{part}_raw"], nz.normalise_name)
        else:
            out[f"{part}_raw"] = None
            out[part] = None
    if "full_name" in columns:
        full = raw("full_name")
        split = _map_fast(full, nz.split_full_name)
        fore = split.map(lambda p: p[0], na_action="ignore")
        sur = split.map(lambda p: p[1], na_action="ignore")
        missing_fore = out["forename"].isna()
        missing_sur = out["surname"].isna()
        out.loc[missing_fore, "forename"] = fore[missing_fore]
        out.loc[missing_sur, "surname"] = sur[missing_sur]
        out.loc[missing_fore & out["forename_raw"].isna(), "forename_raw"] = full
        out.loc[missing_sur & out["surname_raw"].isna(), "surname_raw"] = full

    for date_field in sorted(DATE_FIELDS):
        spec = mapping.spec(date_field)
        if spec is None:
            out[date_field] = None
            continue
        series = frame[columns[date_field]]
        fmt = spec.format

        def parse(value: object, fmt: str | None = fmt) -> object:
            return nz.normalise_date(value, fmt)

        values, problems = _map_unique(series, parse, date_field)
        present = _map_fast(series, lambda v: not nz.is_blank(v)).eq(True)
        bad = problems.notna() & present
        if present.sum() and bad.sum() / present.sum() > MAX_BAD_DATE_SHARE:
            example_row = int(out.loc[bad, "row_number"].iloc[0])
            example = series[bad].iloc[0]
            expected = f"the format {fmt!r}" if fmt else "ISO 8601 (give a format)"
            raise IngestError(
                f"{mapping.where(spec)}: {date_field} column {spec.column!r} does not match "
                f"{expected}: {int(bad.sum()):,} of {int(present.sum()):,} values fail, "
                f"e.g. {example!r} in row {example_row}"
            )
        out[date_field] = values
        warnings.append(problems)

    for field_name, fn in _NORMALISERS.items():
        if field_name not in columns:
            out[field_name] = None
            continue
        values, problems = _map_unique(frame[columns[field_name]], fn, field_name)
        out[field_name] = values
        warnings.append(problems)

    # A record's need defaults to its source's; the same for what it costs.
    default_need = nz.normalise_need(mapping.need) if mapping.need else None
    out["need"] = out["need"].where(out["need"].notna(), default_need)
    out["cost_item"] = out["cost_item"].where(out["cost_item"].notna(), mapping.cost_item)

    if warnings:
        # Join each row's warnings; rows are few per distinct pattern, so zip is fast enough.
        out["warnings"] = [
            "; ".join(v for v in row if isinstance(v, str)) or None for row in zip(*warnings, strict=True)
        ]
    else:
        out["warnings"] = None

    # --- quarantine: rows that cannot be used at all ---------------------------------------
    reasons: pd.Series = pd.Series([[] for _ in range(n)], index=frame.index, dtype=object)
    no_id = out["record_id"].isna()
    for i in out.index[no_id]:
        reasons[i].append("no record_id")
    dup = out["record_id"].notna() & out["record_id"].duplicated(keep="first")
    if n and dup.sum() / n > MAX_DUPLICATE_SHARE:
        spec = mapping.spec("record_id")
        assert spec is not None
        raise IngestError(
            f"{mapping.where(spec)}: record_id column {spec.column!r} does not identify rows: "
            f"{int(dup.sum()):,} of {n:,} rows repeat an earlier record_id"
        )
    first_row: dict[str, int] = {}
    for rid, row_number in zip(out["record_id"], out["row_number"], strict=True):
        if isinstance(rid, str):
            first_row.setdefault(rid, int(row_number))
    for i in out.index[dup]:
        first = first_row[str(out.at[i, "record_id"])]
        reasons[i].append(f"duplicated record_id (first on row {first})")
    has_name = out["surname"].notna() | out["forename"].notna()
    has_anchor = (
        out["date_of_birth"].notna()
        | out["postcode"].notna()
        | out["uprn"].notna()
        | out["address_line"].notna()
    )
    has_id = out["nhs_number"].notna() | out["ni_number"].notna()
    unlinkable = ~((has_name & has_anchor) | has_id)
    for i in out.index[unlinkable]:
        reasons[i].append(
            "nothing to link on (needs a name with a date of birth, postcode or address, "
            "or a valid NHS or National Insurance number)"
        )
    quarantined = reasons.map(bool)

    raw_json = (
        frame.loc[quarantined].apply(
            lambda r: json.dumps({k: v for k, v in r.items() if v not in (None, "")}, default=str),
            axis=1,
        )
        if quarantined.any()
        else pd.Series(dtype=object)
    )
    quarantine = pd.DataFrame(
        {
            "source": source,
            "row_number": out.loc[quarantined, "row_number"],
            "record_id": out.loc[quarantined, "record_id"],
            "reasons": reasons[quarantined].map("; ".join),
            "raw": raw_json,
        }
    )
    records = out.loc[~quarantined, [name for name, _ in RECORD_COLUMNS]]

    report.records = len(records)
    report.quarantined = len(quarantine)
    for rs in reasons[quarantined]:
        for reason in rs:
            report.quarantine_reasons[reason.split(" (")[0]] += 1
    report.warnings = int(records["warnings"].notna().sum())
    for text in records["warnings"].dropna():
        for part in str(text).split("; "):
            report.warning_kinds[part.split(":")[0]] += 1
    assert report.records + report.quarantined == report.rows  # every row accounted for
    return PreparedExtract(records=records, quarantine=quarantine, report=report)


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping_path: Path,
    *,
    source: str | None = None,
) -> IngestReport:
    """Ingest one extract with its mapping. Raises IngestError and changes nothing on failure."""
    try:
        mapping = load_mapping(mapping_path)
    except MappingError as exc:
        raise IngestError(str(exc)) from exc
    return ingest_with_mapping(con, path, mapping, source=source, mapping_path=mapping_path)


def ingest_with_mapping(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    *,
    source: str | None = None,
    mapping_path: Path | None = None,
    file_name: str | None = None,
) -> IngestReport:
    name = source_name_for(mapping, mapping_path, source)
    display = file_name or path.name
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
    if held and held[0] == digest:
        return IngestReport(
            source=name,
            file_name=display,
            rows=held[1],
            records=held[2],
            quarantined=held[3],
            unchanged=True,
        )
    try:
        frame = read_extract(path, mapping.sheet)
    except ReadError as exc:
        raise IngestError(str(exc)) from exc
    prepared = prepare_extract(frame, mapping, name, display)
    report = prepared.report
    report.replaced = held is not None
    write_extract(con, prepared, mapping, digest)
    return report


def write_extract(
    con: duckdb.DuckDBPyConnection, prepared: PreparedExtract, mapping: Mapping, digest: str
) -> None:
    """Replace the source's records and quarantine in one transaction."""
    report = prepared.report
    records = prepared.records
    quarantine = prepared.quarantine
    with transaction(con):
        con.execute("DELETE FROM records WHERE source = ?", [report.source])
        con.execute("DELETE FROM quarantine WHERE source = ?", [report.source])
        con.execute("DELETE FROM sources WHERE name = ?", [report.source])
        con.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report.source, mapping.partner, mapping.service,
                nz.normalise_need(mapping.need) if mapping.need else None, mapping.cost_item,
                mapping.legal_basis, mapping.dsa_reference, mapping.retain_until,
                report.file_name, digest, mapping.text, datetime.now(),
                report.rows, report.records, report.quarantined, report.warnings,
            ],
        )  # fmt: skip
        columns = ", ".join(name for name, _ in RECORD_COLUMNS)
        con.register("_incoming_records", records)
        con.execute(f"INSERT INTO records ({columns}) SELECT {columns} FROM _incoming_records")
        con.unregister("_incoming_records")
        if len(quarantine):
            con.register("_incoming_quarantine", quarantine)
            con.execute(
                "INSERT INTO quarantine SELECT source, row_number, record_id, reasons, raw "
                "FROM _incoming_quarantine"
            )
            con.unregister("_incoming_quarantine")
