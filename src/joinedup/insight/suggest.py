"""Suggest a mapping for an extract: which column feeds which standard field, and why.

Two kinds of evidence are weighed. The header's name (after folding case, spaces,
punctuation and a byte order mark: "D.O.B", "Surname/Family name", "NHS No.") is matched to
a table of usual names; the values themselves are checked with ingest's own validators (an
NHS number's check digit, a UK postcode, a National Insurance number, an email, a phone
number, a date and its format, a sex code). Values beat a misleading header: a column headed
"ID" whose values pass the NHS number check is suggested as an NHS number, and says so.

A date written with both parts up to 12 (03/04/2024) cannot say whether it is day-first or
month-first; when no value in the column decides it, the suggestion asks the analyst and
never guesses. Each field is fed by at most one column: the best is chosen and the others
are listed as alternatives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date

import pandas as pd

from joinedup.insight import normalise as nz
from joinedup.insight.date_formats import VALUE_SHARE, DateReading, date_reading
from joinedup.insight.mapping import DATE_FIELDS
from joinedup.insight.readers import Extract

__all__ = [
    "ColumnSuggestion",
    "DateReading",
    "Suggestion",
    "check_column",
    "date_reading",
    "fold_header",
    "suggest_columns",
    "suggest_source",
]

# Values looked at per column: enough to decide, quick on a million-row extract.
SAMPLE_ROWS = 5000
SHOWN_SAMPLES = 5
# Above this share of failing values, a column chosen for a field is refused (as ingest
# refuses a date format that most values do not fit).
MAX_FAIL_SHARE = 0.5

LABELS: dict[str, str] = {
    "record_id": "record id", "forename": "forename", "surname": "surname",
    "previous_surname": "previous surname",
    "full_name": "full name", "date_of_birth": "date of birth", "sex": "sex",
    "postcode": "postcode", "address_line": "address", "uprn": "UPRN",
    "nhs_number": "NHS number", "ni_number": "National Insurance number", "email": "email",
    "phone": "phone number", "event_date": "event date", "event_end_date": "event end date",
    "event_type": "event type", "need": "need", "cost_item": "cost item",
}  # fmt: skip


def fold_header(name: str) -> str:
    """Lower-case letters and digits only: 'D.O.B ' -> 'dob', '\\ufeffNHS No.' -> 'nhsno'."""
    return re.sub(r"[^a-z0-9]", "", name.replace("\ufeff", "").lower())


# Whole folded headers that name a field (checked first), then parts a header contains.
_EXACT: dict[str, str] = {
    **dict.fromkeys(["id", "ref", "reference", "crn", "urn", "recordid", "clientref", "caseno",
                     "casenumber", "caseref", "clientid", "personid", "patientid", "mrn",
                     "hospitalnumber", "localid", "systemid", "pid", "reportnumber"], "record_id"),
    **dict.fromkeys(["forename", "forenames", "firstname", "givenname", "givennames", "first",
                     "christianname", "fname"], "forename"),
    **dict.fromkeys(["surname", "lastname", "familyname", "last", "lname", "sname"], "surname"),
    **dict.fromkeys(["previoussurname", "previousname", "formersurname", "formername", "maidenname",
                     "maidensurname", "birthsurname", "surnameatbirth", "previouslastname",
                     "othersurname", "aliassurname"], "previous_surname"),
    **dict.fromkeys(["name", "fullname", "clientname", "patientname", "personname"], "full_name"),
    **dict.fromkeys(["dob", "dateofbirth", "birthdate", "birthday", "dobddmmyyyy"], "date_of_birth"),
    **dict.fromkeys(["sex", "gender", "sexcode", "gendercode", "personsex"], "sex"),
    **dict.fromkeys(["postcode", "postalcode", "zip", "pcode"], "postcode"),
    **dict.fromkeys(["address", "addressline", "addressline1", "address1", "street",
                     "firstlineofaddress"], "address_line"),
    **dict.fromkeys(["uprn"], "uprn"),
    **dict.fromkeys(["nhs", "nhsno", "nhsnumber", "nhsnum"], "nhs_number"),
    **dict.fromkeys(["ni", "nino", "nino", "ninumber", "nationalinsurance",
                     "nationalinsurancenumber", "nationalinsuranceno", "nin"], "ni_number"),
    **dict.fromkeys(["email", "emailaddress", "email1"], "email"),
    **dict.fromkeys(["phone", "telephone", "tel", "mobile", "phonenumber", "telno",
                     "mobilenumber", "contactnumber"], "phone"),
    **dict.fromkeys(["date", "eventdate", "start", "startdate", "contactdate", "referraldate",
                     "episodestart", "attendancedate", "arrivaldate", "admissiondate"], "event_date"),
    **dict.fromkeys(["end", "enddate", "eventenddate", "episodeend", "dischargedate",
                     "closeddate", "closuredate"], "event_end_date"),
    **dict.fromkeys(["type", "eventtype", "contacttype", "attendancetype", "activity"], "event_type"),
    **dict.fromkeys(["need", "needs", "primaryneed", "presentingneed"], "need"),
    **dict.fromkeys(["costitem", "costcode", "unitcost"], "cost_item"),
}  # fmt: skip
# (part, field) in order: the first part the folded header contains wins.
_PARTS: tuple[tuple[str, str], ...] = (
    # Before "birth" and "surname": "Birth Surname" and "Previous Surname" name neither.
    *((part, "previous_surname") for part in ("previoussurname", "previousname", "previouslastname",
                                              "formersurname", "formername", "maiden", "birthsurname",
                                              "surnameatbirth", "othersurname")),
    ("nhs", "nhs_number"), ("nationalinsurance", "ni_number"), ("nino", "ni_number"),
    ("ninumber", "ni_number"), ("uprn", "uprn"), ("email", "email"), ("postcode", "postcode"),
    ("birth", "date_of_birth"), ("dob", "date_of_birth"), ("forename", "forename"),
    ("firstname", "forename"), ("givenname", "forename"), ("surname", "surname"),
    ("lastname", "surname"), ("familyname", "surname"), ("fullname", "full_name"),
    ("gender", "sex"), ("sex", "sex"), ("address", "address_line"), ("phone", "phone"),
    ("mobile", "phone"), ("telephone", "phone"), ("enddate", "event_end_date"),
    ("discharge", "event_end_date"), ("date", "event_date"), ("start", "event_date"),
    ("costitem", "cost_item"), ("need", "need"), ("type", "event_type"), ("name", "full_name"),
)  # fmt: skip
# Endings of a header for a row's own identifier ("Custody Ref", "Case No", "Contact ID").
_ID_ENDINGS = ("id", "ref", "reference", "no", "number", "num", "code", "key")


def header_field(header: str) -> tuple[str, float, str] | None:
    """The field a header names, its weight and the reason, or None."""
    folded = fold_header(header)
    if not folded:
        return None
    shown = header.replace("\ufeff", "").strip()
    if folded in _EXACT:
        name = _EXACT[folded]
        return name, 0.7, f"the header {shown!r} is a usual name for {LABELS[name]}"
    # "Surname/Family name": each part on its own first, then the whole.
    for part in re.split(r"[/|\\]", header):
        if fold_header(part) in _EXACT and fold_header(part) != folded:
            name = _EXACT[fold_header(part)]
            return name, 0.7, f"the header {shown!r} is a usual name for {LABELS[name]}"
    for part, name in _PARTS:
        if part in folded:
            return name, 0.6, f"the header {shown!r} contains {part!r}, as {LABELS[name]} headers do"
    if folded.endswith(_ID_ENDINGS):
        return "record_id", 0.5, f"the header {shown!r} names a reference or number"
    return None


# --- what the values say --------------------------------------------------------------------

_CHECKS: dict[str, Callable[[object], object]] = {
    "nhs_number": nz.normalise_nhs_number,
    "ni_number": nz.normalise_ni_number,
    "postcode": nz.normalise_postcode,
    "email": nz.normalise_email,
    "phone": nz.normalise_phone,
    "sex": nz.normalise_sex,
    "uprn": nz.normalise_uprn,
}
# How much a column's values alone say it is the field (when VALUE_SHARE of them pass).
_VALUE_WEIGHT = {"nhs_number": 0.95, "ni_number": 0.95, "postcode": 0.9, "email": 0.9,
                 "phone": 0.8, "sex": 0.85}  # fmt: skip
_WHAT = {"nhs_number": "pass the NHS number check digit", "ni_number": "are National Insurance "
         "numbers in HMRC's format", "postcode": "are UK postcodes", "email": "are email "
         "addresses", "phone": "are UK phone numbers", "sex": "are sex codes",
         "uprn": "are UPRNs (up to 12 digits)"}  # fmt: skip
_NAME_FIELDS = frozenset({"forename", "surname", "full_name"})
# A date column whose middle date is this many years before the newest is of births.
_BIRTH_YEARS = 10


def _passes(fn: Callable[[object], object], value: str) -> bool:
    try:
        return fn(value) is not None
    except nz.InvalidValue:
        return False


def _share(values: Sequence[str], fn: Callable[[object], object]) -> float:
    return sum(_passes(fn, v) for v in values) / len(values) if values else 0.0


@dataclass
class _Evidence:
    scores: dict[str, float] = dc_field(default_factory=dict)
    reasons: dict[str, str] = dc_field(default_factory=dict)

    def add(self, name: str, score: float, reason: str) -> None:
        if score > self.scores.get(name, 0.0):
            self.scores[name] = score
            self.reasons[name] = reason


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _value_evidence(
    values: Sequence[str], reading: DateReading | None, today: date, distinct_share: float
) -> _Evidence:
    """What a column's distinct values say, and how many of its values differ."""
    found = _Evidence()
    if not values:
        return found
    for name, weight in _VALUE_WEIGHT.items():
        share = _share(values, _CHECKS[name])
        if share < VALUE_SHARE:
            continue
        if name == "sex":
            distinct = {v.strip().upper().removesuffix(".0") for v in values}
            if len(distinct) > 8:
                continue
            if distinct <= {"0", "1", "2", "9"}:
                # 1 and 2 could be any code; only a header makes them surely sex.
                found.add(name, 0.45, "its values are only 1, 2 (and 9 or 0), as NHS sex codes are")
                continue
        found.add(name, weight, f"{_pct(share)} of its values {_WHAT[name]}")
    if reading is not None and reading.share >= VALUE_SHARE:
        how = f"{_pct(reading.share)} of its values are dates, {reading.how}"
        middle = sorted(reading.dates)[len(reading.dates) // 2] if reading.dates else today
        if (today - middle).days > 365 * _BIRTH_YEARS:
            found.add("date_of_birth", 0.6, how + "; most are long ago, as dates of birth are")
            found.add("event_date", 0.3, how)
        else:
            found.add("event_date", 0.55, how + "; most are recent, as event dates are")
            found.add("date_of_birth", 0.2, how)
    wordy = sum(bool(re.fullmatch(r"[A-Za-z' \-]+", v)) for v in values) / len(values)
    if distinct_share >= 0.9 and len(values) >= 2 and wordy < 0.5 and not found.scores:
        found.add("record_id", 0.4, "every value is different, as a record's reference is")
    return found


def _header_fits(name: str, values: Sequence[str], reading: DateReading | None) -> float | None:
    """Share of the values that fit the field a header names (None if it cannot be told)."""
    if not values:
        return None
    if name in _CHECKS:
        return _share(values, _CHECKS[name])
    if name in DATE_FIELDS:
        return reading.share if reading else 0.0
    if name in _NAME_FIELDS:
        return _share(values, nz.normalise_name)
    return None


# --- suggestions ----------------------------------------------------------------------------


@dataclass
class ColumnSuggestion:
    position: int
    header: str
    samples: tuple[str, ...]
    field: str | None
    confidence: str  # "high", "medium", "low", or "" when nothing is suggested
    reason: str
    date: DateReading | None = None
    # Fields this column also looked like, which another column fed better.
    also: list[str] = dc_field(default_factory=list)

    @property
    def format(self) -> str | None:
        return self.date.format if self.date and self.field in DATE_FIELDS else None

    @property
    def ask(self) -> bool:
        """True when the analyst must choose day-first or month-first."""
        return bool(self.date and self.date.ask and self.field in DATE_FIELDS)


@dataclass
class Suggestion:
    columns: list[ColumnSuggestion]
    # Field -> other columns that looked like it (the best is the one chosen).
    alternatives: dict[str, list[str]] = dc_field(default_factory=dict)

    def by_field(self) -> dict[str, ColumnSuggestion]:
        return {c.field: c for c in self.columns if c.field}

    @property
    def missing(self) -> list[str]:
        return [] if "record_id" in self.by_field() else ["record_id"]


def _confidence(score: float) -> str:
    return "high" if score >= 0.85 else "medium" if score >= 0.6 else "low"


def _column_values(series: pd.Series) -> list[str]:
    values: list[str] = []
    for value in series.iloc[:SAMPLE_ROWS]:
        text = nz.clean_text(value)
        if text is not None:
            values.append(text)
    return values


def suggest_columns(extract: Extract, *, today: date | None = None) -> Suggestion:
    """A suggested field for each column of an extract, with the reason in plain words."""
    today = today or date.today()
    frame = extract.frame
    evidence: list[_Evidence] = []
    readings: list[DateReading | None] = []
    samples: list[tuple[str, ...]] = []
    for header in frame.columns:
        values = _column_values(frame[header])
        distinct = list(dict.fromkeys(values))
        samples.append(tuple(distinct[:SHOWN_SAMPLES]))
        reading = date_reading(distinct)
        share = len(distinct) / len(values) if values else 0.0
        found = _value_evidence(distinct, reading, today, share)
        named = header_field(str(header))
        if named:
            name, weight, why = named
            fits = _header_fits(name, distinct, reading)
            if name in found.scores:
                found.add(name, min(1.0, max(weight, found.scores[name]) + 0.2),
                          f"{why}, and {found.reasons[name]}")  # fmt: skip
            elif fits is not None and fits < VALUE_SHARE:
                found.add(name, 0.3, f"{why}, but only {_pct(fits)} of its values fit")
            else:
                found.add(name, weight, why)
            for other, score in list(found.scores.items()):
                if other != name and score > found.scores[name]:
                    found.reasons[other] += f" (although the header suggests {LABELS[name]})"
        evidence.append(found)
        readings.append(reading)

    options = sorted(
        ((score, -i, name) for i, found in enumerate(evidence) for name, score in found.scores.items()),
        reverse=True,
    )
    chosen: dict[int, str] = {}
    taken: dict[str, int] = {}
    alternatives: dict[str, list[str]] = {}
    for score, neg, name in options:
        i = -neg
        if score < 0.3 or i in chosen:
            continue
        if name in taken:
            alternatives.setdefault(name, []).append(str(frame.columns[i]))
            continue
        chosen[i] = name
        taken[name] = i
    columns = []
    for i, header in enumerate(frame.columns):
        picked = chosen.get(i)
        found = evidence[i]
        also = [n for n in found.scores if n != picked and n in taken and found.scores[n] >= 0.4
                and taken[n] != i]  # fmt: skip
        if picked:
            reason = found.reasons[picked]
            confidence = _confidence(found.scores[picked])
        else:
            reason = "nothing in its header or values points to a field"
            confidence = ""
        if also:
            reason += "; it also looks like " + ", ".join(
                f"{LABELS[n]} (column {frame.columns[taken[n]]!r} was chosen for that)" for n in also
            )
        reading = readings[i]
        if picked in DATE_FIELDS and reading is None:
            reason += ("; the column is blank in this file, so its date format cannot be told"
                       if not samples[i] else
                       "; its values are not dates in a format that could be recognised")  # fmt: skip
        columns.append(ColumnSuggestion(
            position=i, header=str(header), samples=samples[i], field=picked,
            confidence=confidence, reason=reason[:1].upper() + reason[1:],
            date=reading, also=also,
        ))  # fmt: skip
    return Suggestion(columns=columns, alternatives=alternatives)


# --- checking a chosen column ---------------------------------------------------------------

# A date format is refused when more than this share of a column's dates do not fit it:
# stricter than for identifiers, since a wrong day/month order reads most dates wrongly.
DATE_FAIL_SHARE = 0.1


@dataclass(frozen=True)
class ColumnProblem:
    failed: int
    present: int
    example: str
    row: int
    what: str

    def message(self, column: str, label: str) -> str:
        return (f"Column {column!r} cannot be the {label}: {self.failed:,} of its {self.present:,} "
                f"values {self.what}, for example {self.example!r} in row {self.row}")  # fmt: skip


def check_column(extract: Extract, name: str, column: str, fmt: str | None = None) -> ColumnProblem | None:
    """A problem if most of a column's values cannot be the field chosen for it."""
    fn: Callable[[object], object]
    if name in DATE_FIELDS:

        def fn(value: object) -> object:
            return nz.normalise_date(value, fmt, date1904=extract.date1904)

        what = f"are not dates in the format {fmt}" if fmt else "are not ISO dates or Excel day numbers"
        limit = DATE_FAIL_SHARE
    elif name in _CHECKS:
        fn, what, limit = _CHECKS[name], "fail its check", MAX_FAIL_SHARE
    elif name in _NAME_FIELDS:

        fn = nz.normalise_name
        what, limit = "have no letters of a name", MAX_FAIL_SHARE
    else:
        return None
    series = extract.frame[column]
    verdict = {raw: _passes(fn, raw) for raw in series.dropna().unique() if not nz.is_blank(raw)}
    present = series.map(lambda v: v in verdict)
    failed = series.map(lambda v: verdict.get(v) is False)
    n_present, n_failed = int(present.sum()), int(failed.sum())
    if not n_present or n_failed / n_present <= limit:
        return None
    position = int(failed.to_numpy().argmax())
    return ColumnProblem(n_failed, n_present, str(series.iloc[position]),
                         int(extract.row_numbers[position]), what)  # fmt: skip


# --- the [source] table ---------------------------------------------------------------------


def source_name_from(file_name: str) -> str:
    """A source name made from a file's name: letters, digits, spaces, _ - and . only."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    cleaned = re.sub(r"[^A-Za-z0-9_\-. ]", "_", stem).strip(" ._-")[:80]
    return cleaned or "extract"


def suggest_source(file_name: str, registry: Sequence[tuple[str, Sequence[str]]]) -> dict[str, str]:
    """The [source] values a file's name suggests: its name, and the partner and service of
    the place's registry whose service name the file's name contains (or shares most words
    with). Values that cannot be suggested are left out."""
    out = {"name": source_name_from(file_name)}
    words = set(re.findall(r"[a-z]{3,}", file_name.lower()))
    folded = fold_header(file_name)
    best: tuple[int, str, str] | None = None
    for partner, services in registry:
        for service in services:
            key = fold_header(service)
            shared = words & set(re.findall(r"[a-z]{3,}", service.lower()))
            score = 100 if key and key in folded else len(shared)
            if score and (best is None or score > best[0]):
                best = (score, partner, service)
    if best:
        out["partner"], out["service"] = best[1], best[2]
    return out


__all__ += ["ColumnProblem", "LABELS", "source_name_from"]
