"""What ingesting an extract came to: the report of a success, the error of a failure, and
an extract prepared in memory but not yet written.

Kept apart from ingest.py so that the modules ingest.py draws on can raise IngestError and
add to the report without importing ingest.py, which imports them (no import circle).
ingest.py re-exports IngestError and IngestReport, their public home for callers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

__all__ = ["IngestError", "IngestReport", "PreparedExtract"]


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
    # What ingest decided about the file as a whole (its encoding, a column's dates read as
    # Excel day numbers, a column mixing day-first and month-first dates), in plain words.
    notes: list[str] = field(default_factory=list)
    # Records of the extract replaced that this one no longer holds, or holds under the same
    # id for somebody else, and analysts' decisions on them, which went with them
    # (held_sources.write_extract).
    records_gone: int = 0
    records_reissued: int = 0
    decisions_gone: int = 0

    def gone_note(self) -> str:
        """What left with this extract, in plain words, for the source's page."""
        parts = []
        if self.records_gone:
            n = self.records_gone
            parts.append(f"{'1 record held before is' if n == 1 else f'{n:,} records held before are'} "
                         "not in this extract")  # fmt: skip
        if self.records_reissued:
            n = self.records_reissued
            parts.append(
                f"{'1 record keeps its id' if n == 1 else f'{n:,} records keep their ids'} with another "
                "forename, surname and date of birth, so "
                f"{'is' if n == 1 else 'are'} taken for somebody else"
            )
        if self.decisions_gone:
            n = self.decisions_gone
            them = "it" if self.records_gone + self.records_reissued == 1 else "them"
            decisions = "1 review decision" if n == 1 else f"{n:,} review decisions"
            parts.append(f"{decisions} on {them} went with {them}")
        return "; ".join(parts)

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
            "notes": list(self.notes),
            "records_gone": self.records_gone,
            "records_reissued": self.records_reissued,
            "decisions_gone": self.decisions_gone,
        }


@dataclass
class PreparedExtract:
    """A validated extract ready to write: records, quarantine and the report. The records
    come as an Arrow table from another process (see held_sources.records_table)."""

    records: pd.DataFrame | pa.Table
    quarantine: pd.DataFrame
    report: IngestReport
