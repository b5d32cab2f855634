"""Partners and services as CSV: export for a spreadsheet, import from one.

An import is checked whole before it is saved: every problem is reported with its row
(as a spreadsheet numbers it, the header being row 1) and column, and if there is any, the
session's transaction is rolled back and nothing is saved. A row whose name matches an
existing partner (or, for services, the same partner's service), whatever the case, changes
it; any other row adds one. Rows never retire or delete:
that is a decision to take one partner at a time.

Files are written through joinedup.csvsafe. A cell it protected with a leading quote
(``'=SUM(...)``) reads back as the text it protected, so an export imports unchanged.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from joinedup.csvsafe import is_formula, rows_to_csv
from joinedup.places import registry
from joinedup.places.models import Partner, Place, Service
from joinedup.places.registry import By, PlaceError, StoreSources

__all__ = [
    "PARTNER_COLUMNS", "SERVICE_COLUMNS", "ImportProblem", "ImportRefused", "ImportResult",
    "import_partners", "import_services", "partners_csv", "services_csv",
]  # fmt: skip

PARTNER_COLUMNS = ("name", "sector", "website", "retired")
SERVICE_COLUMNS = ("partner", "name", "description", "status", "email", "url", "retired")
# Columns an export writes but an import does not read (retiring is done one at a time).
_EXPORT_ONLY = {"retired"}
MAX_ROWS = 5000


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where.capitalize()}: {self.message}"


class ImportRefused(PlaceError):
    """The file has problems; nothing was saved."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"Nothing was imported. {problems[0]}{more}", "file")


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.changed)} changed, "
                f"{self.unchanged} unchanged")


def _yes(value: object) -> str:
    return "yes" if value is not None else ""


def partners_csv(place: Place) -> str:
    return rows_to_csv(PARTNER_COLUMNS, (
        (p.name, p.sector, p.website, _yes(p.retired_at)) for p in place.partners))


def services_csv(place: Place) -> str:
    rows = sorted(place.services, key=lambda s: (s.partner.name.lower(), s.name.lower()))
    return rows_to_csv(SERVICE_COLUMNS, (
        (s.partner.name, s.name, s.description, s.status, s.email, s.url, _yes(s.retired_at))
        for s in rows))


def _unprotect(text: str) -> str:
    """Undo csvsafe's leading quote on a cell that would otherwise be a formula."""
    return text[1:] if text.startswith("'") and is_formula(text[1:]) else text


def _read(data: bytes | str, columns: tuple[str, ...], required: tuple[str, ...]
          ) -> tuple[list[tuple[int, dict[str, str]]], list[ImportProblem]]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [ImportProblem(1, "", "the file must be a CSV file saved as UTF-8")]
    reader = csv.reader(io.StringIO(data))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        return [], [ImportProblem(1, "", "the file is empty: the first row must name the columns")]
    problems = [ImportProblem(1, name, f"unknown column: use {', '.join(columns)}")
                for name in header if name not in columns]
    problems += [ImportProblem(1, name, "this column is missing") for name in required
                 if name not in header]
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                problems.append(ImportProblem(number, "", f"{len(cells)} cells, but the header "
                                              f"names {len(header)} columns"))
                continue
            rows.append((number, {h: _unprotect(c) for h, c in zip(header, cells, strict=False)}))
            if len(rows) > MAX_ROWS:
                return [], [ImportProblem(number, "", f"a file may hold at most {MAX_ROWS} rows")]
    except csv.Error as exc:
        problems.append(ImportProblem(reader.line_num, "", f"the file is not valid CSV ({exc})"))
    if not rows and not problems:
        problems.append(ImportProblem(2, "", "the file has no rows under its header"))
    return rows, problems


def _refuse_if(session: Session, problems: list[ImportProblem]) -> None:
    """Each row is checked before it changes anything, so the rows before a bad one may be
    saved in the session: roll the whole transaction back and refuse the file."""
    if problems:
        session.rollback()
        raise ImportRefused(sorted(problems, key=lambda p: p.row))


def import_partners(session: Session, place: Place, data: bytes | str, *,
                    sources: StoreSources | None = None, by: By = registry.COMMAND_LINE
                    ) -> ImportResult:
    rows, problems = _read(data, PARTNER_COLUMNS, ("name", "sector"))
    if problems:
        raise ImportRefused(problems)
    existing = {p.name.lower(): p for p in place.partners}
    seen: dict[str, int] = {}
    result = ImportResult()
    for number, row in rows:
        name = " ".join(row.get("name", "").split())
        if name.lower() in seen:
            problems.append(ImportProblem(number, "name", f"{name} is also in row {seen[name.lower()]}"))
            continue
        seen[name.lower()] = number
        partner = existing.get(name.lower())
        fields = {"name": name, "sector": row.get("sector", ""), "website": row.get("website", "")}
        try:
            if partner is None:
                result.added.append(registry.add_partner(session, place, by=by, **fields).name)
            else:
                # A name matched whatever its case keeps its own spelling: a file typed in
                # capitals must not rename partners.
                fields["name"] = partner.name
                _tally(result, partner.name,
                       registry.edit_partner(session, partner, sources=sources, by=by, **fields))
        except PlaceError as exc:
            problems.append(ImportProblem(number, exc.field, str(exc)))
    _refuse_if(session, problems)
    by.record(session, "partners.imported", place, f"{len(rows)} rows",
              {"added": result.added, "changed": result.changed})
    return result


def import_services(session: Session, place: Place, data: bytes | str, *,
                    sources: StoreSources | None = None, by: By = registry.COMMAND_LINE
                    ) -> ImportResult:
    rows, problems = _read(data, SERVICE_COLUMNS, ("partner", "name"))
    if problems:
        raise ImportRefused(problems)
    partners = {p.name.lower(): p for p in place.partners}
    seen: dict[tuple[str, str], int] = {}
    result = ImportResult()
    for number, row in rows:
        partner_name = " ".join(row.get("partner", "").split())
        partner: Partner | None = partners.get(partner_name.lower())
        if partner is None:
            problems.append(ImportProblem(number, "partner", f"{place.name} has no partner called "
                                          f"{partner_name or '(blank)'}: add it first"))
            continue
        name = " ".join(row.get("name", "").split())
        key = (partner.name.lower(), name.lower())
        if key in seen:
            problems.append(ImportProblem(number, "name", f"{name} of {partner.name} is also in "
                                          f"row {seen[key]}"))
            continue
        seen[key] = number
        fields = {"description": row.get("description", ""), "status": row.get("status", ""),
                  "email": row.get("email", ""), "url": row.get("url", "")}
        current: Service | None = next((s for s in partner.services if s.name.lower() == name.lower()), None)
        try:
            if current is None:
                result.added.append(registry.add_service(session, place, partner, name=name, by=by,
                                                         **fields).name)
            else:
                _tally(result, current.name, registry.edit_service(
                    session, current, name=current.name, sources=sources, by=by, **fields))
        except PlaceError as exc:
            problems.append(ImportProblem(number, exc.field, str(exc)))
    _refuse_if(session, problems)
    by.record(session, "services.imported", place, f"{len(rows)} rows",
              {"added": result.added, "changed": result.changed})
    return result


def _tally(result: ImportResult, name: str, changes: dict[str, Any]) -> None:
    if changes:
        result.changed.append(name)
    else:
        result.unchanged += 1
