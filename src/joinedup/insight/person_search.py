"""Finding persons (person-level: analysts only, every search audited by the caller).

One search box, read the way ingest reads the same field, so that what the analyst types
matches what was stored:

- a person id (``P00001234``);
- an NHS number (ten digits, spaces or dashes allowed; it must pass its check digit);
- a National Insurance number (HMRC's format, spaces allowed);
- a postcode (a whole one, any spacing or case);
- a date of birth (``1980-02-01`` or ``1/2/1980``, day first as in the UK);
- otherwise a name: every word must begin the forename or the surname of one record, so
  "bil smi" finds Bill Smith, and O'Brien finds OBrien.

Emails, phone numbers, addresses and events are not searchable: an analyst looking for a
person has one of the identifiers above from a case, and a free-text search over every field
would make the store a directory of everyone in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from joinedup.insight.normalise import (
    InvalidValue,
    normalise_name,
    normalise_nhs_number,
    normalise_ni_number,
    normalise_postcode,
)

__all__ = ["PAGE_SIZE", "Found", "SearchError", "Query", "parse_query", "search_persons"]

PAGE_SIZE = 50
_PERSON_ID = re.compile(r"^P[0-9]{8}$")
_DIGITS = re.compile(r"^[0-9][0-9 \-]{8,14}[0-9]$")
_NINO_LIKE = re.compile(r"^[A-Z]{2}[0-9]{6}[A-D]$")


class SearchError(ValueError):
    """What the analyst typed cannot be searched for; the message says why."""


@dataclass(frozen=True)
class Query:
    kind: str  # all, person_id, nhs_number, ni_number, postcode, date_of_birth, name
    value: str | date | tuple[str, ...] | None = None

    @property
    def described(self) -> str:
        if self.kind == "all":
            return "everyone"
        shown = " ".join(self.value) if isinstance(self.value, tuple) else str(self.value)
        return f"{self.kind.replace('_', ' ')} {shown}"


def _date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_query(text: str) -> Query:
    """Read the search box; raises SearchError for a number that is not a valid one."""
    text = " ".join(text.split())
    if not text:
        return Query("all")
    if _PERSON_ID.match(text.upper()):
        return Query("person_id", text.upper())
    born = _date(text)
    if born is not None:
        return Query("date_of_birth", born)
    if _DIGITS.match(text):
        try:
            return Query("nhs_number", normalise_nhs_number(text))
        except InvalidValue as exc:
            raise SearchError(f"{text} is not a valid NHS number: it fails its check digit") from exc
    if _NINO_LIKE.match(text.replace(" ", "").upper()):
        try:
            return Query("ni_number", normalise_ni_number(text))
        except InvalidValue as exc:
            raise SearchError(f"{text} is not a National Insurance number in HMRC's format") from exc
    try:
        postcode = normalise_postcode(text)
    except InvalidValue:
        postcode = None
    if postcode:
        return Query("postcode", postcode)
    if re.search(r"[0-9]", text):
        raise SearchError(
            "Enter a person id, an NHS number, a National Insurance number, a whole postcode, "
            "a date of birth or a name"
        )
    words = tuple(w for w in (normalise_name(part) for part in text.split(" ")) if w)
    if not words:
        raise SearchError("Enter a name with letters in it")
    return Query("name", words)


def _condition(query: Query) -> tuple[str, list[object]]:
    """SQL over records ``r`` (and links ``l``) selecting the records that match."""
    if query.kind == "person_id":
        return "l.person_id = ?", [query.value]
    if query.kind in {"nhs_number", "ni_number", "postcode", "date_of_birth"}:
        return f"r.{query.kind} = ?", [query.value]
    if query.kind == "name":
        assert isinstance(query.value, tuple)
        clauses = ["(starts_with(r.forename, ?) OR starts_with(r.surname, ?))" for _ in query.value]
        return " AND ".join(clauses), [w for word in query.value for w in (word, word)]
    return "TRUE", []


@dataclass(frozen=True)
class Found:
    rows: list[tuple[str, int, int]]  # person id, services, records
    total: int
    page: int
    pages: int


def _matching_sql(query: Query, members: tuple[str, list[object]] | None) -> tuple[str, list[object]]:
    where, params = _condition(query)
    sql = (
        "SELECT l.person_id, count(DISTINCT l.source) AS services, count(*) AS records "
        "FROM person_links l GROUP BY l.person_id"
    )
    filters: list[str] = []
    out_params: list[object] = []
    if query.kind != "all":
        filters.append(
            "person_id IN (SELECT l.person_id FROM person_links l "
            f"JOIN records r USING (source, record_id) WHERE {where})"
        )
        out_params += params
    if members is not None:
        filters.append(f"person_id IN ({members[0]})")
        out_params += members[1]
    if filters:
        sql = f"SELECT * FROM ({sql}) WHERE {' AND '.join(filters)}"  # noqa: S608
    return sql, out_params


def search_persons(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    *,
    members: tuple[str, list[object]] | None = None,
    page: int = 1,
    page_size: int | None = PAGE_SIZE,
) -> Found:
    """Persons matching ``query`` (and among ``members``, SQL selecting person ids, when
    given), known to most services first, then most records, then by id: a stable order,
    so that pages do not shift. ``page`` is clamped to the pages there are; no
    ``page_size`` returns them all (for the export)."""
    sql, params = _matching_sql(query, members)
    (total,) = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0]  # noqa: S608
    ordered = f"{sql} ORDER BY services DESC, records DESC, person_id"
    if page_size is None:
        rows = con.execute(ordered, params).fetchall()
        return Found([(str(p), int(s), int(r)) for p, s, r in rows], int(total), 1, 1)
    pages = max(1, -(-int(total) // page_size))
    page = min(max(1, page), pages)
    rows = con.execute(
        f"{ordered} LIMIT {int(page_size)} OFFSET {int((page - 1) * page_size)}", params
    ).fetchall()
    return Found([(str(p), int(s), int(r)) for p, s, r in rows], int(total), page, pages)
