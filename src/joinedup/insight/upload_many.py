"""Several extracts uploaded at once: which stored mapping each file takes, and ingesting it.

A partnership receives its partners' extracts together each month, under the same names as
last month. A file whose name matches a source that keeps its mapping (``housing.csv`` or
``housing_2026-01.csv`` for the source ``housing``) is ingested with that mapping, as the
command line's manifest would; any other file goes to the column check, one after another.
Each file goes in whole or not at all, and one bad file does not stop the others: the
caller reports, per file, its source and counts or the problem naming the file.

No web imports: the upload router calls these, and a test can too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from joinedup.insight.ingest import IngestError, IngestReport, ingest_with_mapping
from joinedup.insight.mapping import MappingError, parse_mapping
from joinedup.insight.readers import Limits, ReadError, read_extract

__all__ = [
    "FileOutcome",
    "check_unmatched",
    "ingest_matched",
    "match_source",
    "stored_mappings",
]

# What may follow a source's name in a monthly file's name: "housing_2026-01", "housing 2".
_SEPARATOR = re.compile(r"^[\s_\-.]")


@dataclass
class FileOutcome:
    """What became of one file of an upload: ingested, waiting for its column check, or not."""

    file_name: str
    source: str | None = None
    report: IngestReport | None = None
    error: str | None = None
    token: str | None = None  # kept (staged) for the column check

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if self.report is not None:
            return "unchanged" if self.report.unchanged else "ingested"
        return "to check"


def stored_mappings(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each source that keeps the mapping it was ingested with: name -> mapping text."""
    rows = con.execute("SELECT name, mapping_text FROM sources WHERE mapping_text IS NOT NULL").fetchall()
    return {str(name): str(text) for name, text in rows}


def match_source(file_name: str, sources: list[str] | set[str] | dict[str, str]) -> str | None:
    """The source a file is next month's extract of, by its name: the stem equals the source's
    name or starts with it and a separator (case aside). The longest such name wins, so that
    ``housing_options.csv`` goes to ``housing_options`` rather than ``housing``."""
    stem = Path(file_name).stem.strip().lower()
    best: str | None = None
    for name in sources:
        folded = name.lower()
        fits = stem == folded or (stem.startswith(folded) and _SEPARATOR.match(stem[len(folded):]))
        if fits and (best is None or len(name) > len(best)):
            best = name
    return best


def ingest_matched(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    file_name: str,
    source: str,
    mapping_text: str,
    limits: Limits | None = None,
) -> IngestReport:
    """Ingest a file with the stored mapping of the source its name matches.

    Raises IngestError naming the file, and changes nothing, when the file is malformed or
    its columns are not the ones the source's mapping reads (a file that only shares its
    name with a source must not replace that source's records)."""
    try:
        mapping = parse_mapping(mapping_text, f"{source}.toml")
    except MappingError as exc:  # stored mappings parsed when stored; kept for safety
        raise IngestError(
            f"{file_name}: the stored mapping of source {source} cannot be used ({exc})"
        ) from exc
    try:
        return ingest_with_mapping(con, path, mapping, source=source, file_name=file_name, limits=limits)
    except IngestError as exc:
        message = str(exc)
        if "is not in" in message or "appears" in message:
            raise IngestError(
                f"{file_name}: its name matches the source {source}, but its columns are not "
                f"the ones that source's mapping reads, so nothing was changed ({message}). "
                "If it is a different extract, rename the file and upload it again to check its "
                "columns as a new source"
            ) from exc
        if not message.startswith(file_name):
            message = f"{file_name}: {message}"
        raise IngestError(message) from exc


def check_unmatched(path: Path, file_name: str, limits: Limits | None = None) -> str | None:
    """Read a file that will go to the column check; the problem (naming the file) or None."""
    try:
        read_extract(path, limits=limits)
    except ReadError as exc:
        message = str(exc).replace(path.name, file_name, 1)
        return message if file_name in message else f"{file_name}: {message}"
    return None
