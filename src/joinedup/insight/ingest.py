"""Ingest a partner extract into a place's insight store, whole or not at all.

Every input row ends up either as a record or in quarantine with its reasons. Invalid
identifiers are set aside with a warning for the row; a row is quarantined only when it
cannot be used at all. Re-ingesting identical content is a no-op; a new file for an
existing source replaces its records in one transaction.

This module reads and prepares an extract and is the public way in (ingest_file,
ingest_with_mapping); its parts live beside it: ingest_report (the report and the error),
column_normalise, date_columns, quarantine (a row's reasons) and held_sources (what the
store holds of a source, and writing its replacement).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from joinedup.insight import normalise as nz
from joinedup.insight.column_normalise import FIELD_NORMALISERS, map_fast, map_unique
from joinedup.insight.date_columns import read_dates
from joinedup.insight.held_sources import held_source, write_extract
from joinedup.insight.ingest_report import IngestError, IngestReport, PreparedExtract
from joinedup.insight.mapping import DATE_FIELDS, Mapping, MappingError, load_mapping
from joinedup.insight.quarantine import quarantine_reasons
from joinedup.insight.readers import Extract, Limits, ReadError, read_extract
from joinedup.insight.store import RECORD_COLUMNS

__all__ = [
    "IngestError",
    "IngestReport",
    "ingest_file",
    "ingest_with_mapping",
    "prepare_extract",
    "resolve_columns",
]


def resolve_columns(header: list[str], mapping: Mapping, file_name: str) -> dict[str, str]:
    """The header name feeding each of the mapping's fields; refuses a missing column, or a
    column that appears more than once (which of them would feed the field is not clear)."""
    counts = Counter(header)
    folded: dict[str, list[str]] = {}
    for name in header:
        folded.setdefault(name.strip().lower(), []).append(name)
    shown = ", ".join(repr(c) for c in header[:12])
    columns: dict[str, str] = {}
    for spec in mapping.columns:
        if spec.column in counts:
            chosen = [spec.column] * counts[spec.column]
        else:
            # Forgive case and surrounding spaces, which partners change between extracts.
            chosen = folded.get(spec.column.strip().lower(), [])
        if not chosen:
            raise IngestError(
                f"{mapping.where(spec)}: column {spec.column!r} for {spec.field} is not in "
                f"{file_name} (its columns are {shown})"
            )
        if len(chosen) > 1:
            positions = [i for i, name in enumerate(header, start=1) if name in set(chosen)]
            raise IngestError(
                f"{file_name}: column {chosen[0]!r} appears {len(chosen)} times in the header "
                f"(columns {', '.join(str(p) for p in positions)}), so it is not clear which "
                f"feeds {spec.field}: give each column its own name"
            )
        columns[spec.field] = chosen[0]
    return columns


def source_name_for(mapping: Mapping, mapping_path: Path | None, name: str | None) -> str:
    chosen = name or mapping.name or (mapping_path.stem if mapping_path else None)
    if not chosen:
        raise IngestError("the source needs a name: pass --source NAME")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-. ]{0,79}", chosen):
        raise IngestError(f"source name {chosen!r} must be letters, digits, spaces, _ - or .")
    return chosen


def prepare_extract(
    extract: Extract, mapping: Mapping, source: str, file_name: str,
    columns: dict[str, str] | None = None,
) -> PreparedExtract:  # fmt: skip
    """Validate and normalise an extract in memory; raise IngestError if it is unusable."""
    frame = extract.frame
    n = len(frame)
    report = IngestReport(source=source, file_name=file_name, rows=n, notes=list(extract.notes))
    if columns is None:
        columns = resolve_columns(list(frame.columns), mapping, file_name)
    out = pd.DataFrame(index=frame.index)
    warnings: list[pd.Series] = []

    def raw(field_name: str) -> pd.Series:
        return map_fast(frame[columns[field_name]], nz.clean_text)

    out["source"] = source
    out["row_number"] = pd.Series(extract.row_numbers, index=frame.index, dtype="int64")
    out["record_id"] = raw("record_id")

    # Names: keep what the partner wrote; split a full name only where parts are missing.
    for part in ("forename", "surname"):
        if part in columns:
            out[f"{part}_raw"] = raw(part)
            out[part] = map_fast(out[f"{part}_raw"], nz.normalise_name)
        else:
            out[f"{part}_raw"] = None
            out[part] = None
    # A previous surname (a maiden name, a name before a change) is normalised as a surname is.
    # The model compares it with the other record's surname, never in place of this one's.
    # Kept as written too, for the analyst comparing two records.
    out["previous_surname_raw"] = raw("previous_surname") if "previous_surname" in columns else None
    out["previous_surname"] = (
        map_fast(out["previous_surname_raw"], nz.normalise_name) if "previous_surname" in columns else None
    )
    if "full_name" in columns:
        full = raw("full_name")
        split = map_fast(full, nz.split_full_name)
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
        values, problems = read_dates(
            frame[columns[date_field]], spec, mapping, extract, report, out["row_number"]
        )
        out[date_field] = values
        warnings.append(problems)

    for field_name, fn in FIELD_NORMALISERS.items():
        if field_name not in columns:
            out[field_name] = None
            continue
        values, problems = map_unique(frame[columns[field_name]], fn, field_name)
        out[field_name] = values
        warnings.append(problems)

    # A record's need defaults to its source's; the same for what it costs.
    default_need = nz.normalise_need(mapping.need) if mapping.need else None
    out["need"] = out["need"].where(out["need"].notna(), default_need)
    out["cost_item"] = out["cost_item"].where(out["cost_item"].notna(), mapping.cost_item)

    out["warnings"] = _joined_warnings(warnings, n)

    reasons = quarantine_reasons(out, extract, mapping)
    quarantined = reasons.map(bool)

    def raw_row(position: int) -> str:
        if position in extract.raw_rows:
            return json.dumps(extract.raw_rows[position], default=str)
        row = frame.iloc[position]
        return json.dumps({k: v for k, v in row.items() if v not in (None, "")}, default=str)

    quarantine = pd.DataFrame(
        {
            "source": source,
            "row_number": out.loc[quarantined, "row_number"],
            "record_id": out.loc[quarantined, "record_id"],
            "reasons": reasons[quarantined].map("; ".join),
            "raw": pd.Series(
                [raw_row(int(p)) for p in quarantined.to_numpy().nonzero()[0]],
                index=out.index[quarantined],
                dtype=object,
            ),
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
    if report.records == 0:
        common = ", ".join(f"{k}: {v:,}" for k, v in report.quarantine_reasons.most_common(3))
        raise IngestError(
            f"{file_name}: none of its {report.rows:,} rows can be used ({common}), so the "
            f"source {source!r} was not changed"
        )
    return PreparedExtract(records=records, quarantine=quarantine, report=report)


def _joined_warnings(warnings: list[pd.Series], n: int) -> list[str | None] | None:
    """Each row's warnings joined, None for a row without any. Only the rows with a warning
    are joined: most rows have none, and joining every row took a fifth of a second for
    each 400,000."""
    if not warnings:
        return None
    columns = [w.to_numpy() for w in warnings]
    flagged = np.zeros(n, dtype=bool)
    for column in columns:
        flagged |= pd.notna(column)
    joined: list[str | None] = [None] * n
    for i in np.flatnonzero(flagged):
        joined[i] = "; ".join(v for c in columns if isinstance(v := c[i], str)) or None
    return joined


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping_path: Path,
    *,
    source: str | None = None,
    limits: Limits | None = None,
) -> IngestReport:
    """Ingest one extract with its mapping. Raises IngestError and changes nothing on failure."""
    try:
        mapping = load_mapping(mapping_path)
    except MappingError as exc:
        raise IngestError(str(exc)) from exc
    return ingest_with_mapping(con, path, mapping, source=source, mapping_path=mapping_path, limits=limits)


def ingest_with_mapping(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    mapping: Mapping,
    *,
    source: str | None = None,
    mapping_path: Path | None = None,
    file_name: str | None = None,
    limits: Limits | None = None,
) -> IngestReport:
    """Ingest one extract with a parsed mapping, within ``limits`` (the defaults if None)."""
    name = source_name_for(mapping, mapping_path, source)
    display = file_name or path.name
    held = held_source(con, path, mapping, name, display)
    if held.unchanged is not None:
        return held.unchanged
    prepared = read_and_prepare(path, mapping, name, display, limits)
    prepared.report.replaced = held.replaced
    write_extract(con, prepared, mapping, held.digest)
    return prepared.report


def read_and_prepare(
    path: Path, mapping: Mapping, name: str, display: str, limits: Limits | None
) -> PreparedExtract:
    """Read and normalise an extract; touches no store, so it can run in another process."""
    resolved: dict[str, str] = {}

    def check_header(header: list[str]) -> None:
        # Before any row is read: a wrong file or mapping costs milliseconds, not minutes.
        resolved.update(resolve_columns(header, mapping, display))

    try:
        extract = read_extract(path, mapping.sheet, limits=limits, check_header=check_header)
    except ReadError as exc:
        raise IngestError(str(exc).replace(path.name, display, 1)) from exc
    return prepare_extract(extract, mapping, name, display, resolved)
