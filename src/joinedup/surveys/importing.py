"""Import responses from CSV (paper surveys, other tools), with a report for every row.

One row is one response; columns are question keys. A row with any bad answer is rejected
whole, with every reason, and the valid rows around it are kept: a bad neighbour never
costs a good response. Partners may be given by name or by id; several choices are
separated by '|' or ';'; a practice check's evidence goes in `<key>_note`. An answer may
be given as its stored value ("4", "front_line") or as the words on the form ("Agree",
"Front line").
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from joinedup.csvsafe import SafeWriter
from joinedup.places.models import Place
from joinedup.surveys.answering import Checked, check_answer
from joinedup.surveys.models import ResponseStatus, SurveyAnswer, SurveyResponse, SurveyRound
from joinedup.surveys.results import invalidate
from joinedup.surveys.rounds import dynamic_options, instrument_of

MAX_ROWS = 50_000
NOTE_SUFFIX = "_note"


@dataclass(frozen=True)
class RowReport:
    line: int  # line number in the file, counting the header as line 1
    imported: bool
    errors: tuple[str, ...] = ()


@dataclass
class ImportReport:
    rows: list[RowReport] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    problem: str | None = None  # a problem with the whole file

    @property
    def imported(self) -> int:
        return sum(1 for r in self.rows if r.imported)

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.rows if not r.imported)


def import_csv(session: Session, round_: SurveyRound, place: Place, text: str) -> ImportReport:
    """Check every row; store the valid ones as submitted responses."""
    report = ImportReport()
    inst = instrument_of(round_)
    dyn = dynamic_options(round_, place)
    partner_ids = {p.name.casefold(): str(p.id) for p in place.partners}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        report.problem = "The file is empty or has no header row."
        return report
    keys = {q.key for q in inst.questions}
    known = keys | {f"{k}{NOTE_SUFFIX}" for k in keys}
    report.ignored_columns = [h for h in header if h not in known]
    if not any(h in keys for h in header):
        report.problem = (
            "No column matches a question of this survey. The header row must use the "
            "question keys, for example " + ", ".join(q.key for q in inst.questions[:3]) + "."
        )
        return report
    now = datetime.now(UTC)
    for number, raw_row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            report.problem = f"Only the first {MAX_ROWS} rows were read."
            break
        row = {(k or "").strip(): (v or "") for k, v in raw_row.items()}
        if not any(v.strip() for v in row.values()):
            continue  # blank line
        checked: dict[str, Checked] = {}
        errors: list[str] = []
        for q in inst.questions:
            value = row.get(q.key, "").strip()
            if q.options_from == "partners" and value.casefold() in partner_ids:
                value = partner_ids[value.casefold()]
            values = ([v for v in value.replace(";", "|").split("|")] if q.type == "multiple"
                      else [value])
            # People typing in paper forms write the words they saw ("Strongly agree",
            # "Front line"); accept those as well as the stored values.
            by_label = {o.label.casefold(): o.value for o in q.resolved_options(dyn)}
            values = [by_label.get(v.strip().casefold(), v) for v in values]
            result = check_answer(q, values, row.get(f"{q.key}{NOTE_SUFFIX}", ""), dyn)
            if result.error:
                errors.append(f"{q.key}: {result.error}")
            checked[q.key] = result
        if errors:
            report.rows.append(RowReport(number, False, tuple(errors)))
            continue
        response = SurveyResponse(round_id=round_.id, resume_key=secrets.token_urlsafe(24),
                                  status=ResponseStatus.SUBMITTED.value, source="import",
                                  submitted_at=now)
        for key, result in checked.items():
            if result.value is not None:
                response.answers.append(SurveyAnswer(question_key=key, value=result.value,
                                                     note=result.note, reviewed=False,
                                                     coding=""))
        session.add(response)
        report.rows.append(RowReport(number, True))
    session.flush()
    if report.imported:
        invalidate(round_)
    return report


def template_csv(round_: SurveyRound) -> str:
    """An empty CSV with the right header, for whoever types in the paper forms."""
    inst = instrument_of(round_)
    header = []
    for q in inst.questions:
        header.append(q.key)
        if q.type == "practice":
            header.append(f"{q.key}{NOTE_SUFFIX}")
    out = io.StringIO()
    SafeWriter(out).writeheader(header)
    return out.getvalue()
