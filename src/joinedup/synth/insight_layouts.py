"""How each service of a synthetic place writes its extract: the header, a record's row (names
in the service's own case, dates in its own format, postcodes with or without the space),
the mapping's [columns], the file's encoding and delimiter, and the file itself, CSV or XLSX.
"""

from __future__ import annotations

import csv
import random
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from joinedup.synth.insight_records import _Record
from joinedup.synth.insight_sources import SourceSpec

# The names keep the leading underscore they had in synth/insight.py (programme.py writes
# its rows with the date and postcode formats too); renaming them is another change.
__all__ = ["Layout", "_fmt_date", "_fmt_postcode", "_layouts", "_mapping_text", "_write"]


def _case(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return text.title()
    if r < 0.8:
        return text
    return text.lower()


def _fmt_date(value: date | None, fmt: str) -> str:
    return value.strftime(fmt) if value else ""


def _fmt_postcode(value: str | None, rng: random.Random) -> str:
    if not value:
        return ""
    r = rng.random()
    if r < 0.1:
        return value.replace(" ", "")
    if r < 0.2:
        return value.lower()
    return value


def _previous(record: _Record) -> str:
    """The record's previous surname as the extract holds it: known for about 7 in 10 of the
    records that have one (a column many leave blank). Chosen by the record's id, not drawn
    from the layout's random numbers, so the other columns are written as they always were."""
    if not record.previous_surname or zlib.crc32(record.record_id.encode()) % 10 >= 7:
        return ""
    return record.previous_surname


# Each layout: header, how to turn a record into a row, and the mapping's [columns].
Layout = tuple[list[str], Callable[[_Record, random.Random], list[Any]], str]


def _layouts() -> dict[str, Layout]:
    def sexw(s: str) -> str:
        return {"M": "Male", "F": "Female"}[s]

    return {
        "housing": (
            ["Client Ref", "First Name", "Last Name", "Former Surname", "DOB", "Postcode", "Address",
             "NI Number", "Approach Date"],
            lambda r, g: [r.record_id, _case(r.forename or "", g), _case(r.surname or "", g),
                          _previous(r).title(), _fmt_date(r.dob, "%d/%m/%Y"), _fmt_postcode(r.postcode, g),
                          (r.address or "").title(), r.ni or "", _fmt_date(r.event, "%d/%m/%Y")],
            'record_id = "Client Ref"\nforename = "First Name"\nsurname = "Last Name"\n'
            'previous_surname = "Former Surname"\n'
            'date_of_birth = { column = "DOB", format = "%d/%m/%Y" }\npostcode = "Postcode"\n'
            'address_line = "Address"\nni_number = "NI Number"\n'
            'event_date = { column = "Approach Date", format = "%d/%m/%Y" }\n',
        ),
        "outreach": (
            ["Contact ID", "Name", "Approx DOB", "Gender", "Last Known Postcode", "Contact Date"],
            lambda r, g: [r.record_id, f"{_case(r.forename or '', g)} {_case(r.surname or '', g)}".strip(),
                          _fmt_date(r.dob, "%d/%m/%Y"), r.sex, _fmt_postcode(r.postcode, g),
                          _fmt_date(r.event, "%d/%m/%Y")],
            'record_id = "Contact ID"\nfull_name = "Name"\n'
            'date_of_birth = { column = "Approx DOB", format = "%d/%m/%Y" }\nsex = "Gender"\n'
            'postcode = "Last Known Postcode"\n'
            'event_date = { column = "Contact Date", format = "%d/%m/%Y" }\n',
        ),
        "ed": (
            ["AttendanceID", "NHSNumber", "PatientForename", "PatientSurname", "DateOfBirth",
             "SexCode", "PostcodeAtAttendance", "ArrivalDate"],
            lambda r, g: [r.record_id, r.nhs or "", (r.forename or "").upper(),
                          (r.surname or "").upper(), _fmt_date(r.dob, "%Y-%m-%d"),
                          {"M": "1", "F": "2"}[r.sex], _fmt_postcode(r.postcode, g),
                          _fmt_date(r.event, "%Y-%m-%d")],
            'record_id = "AttendanceID"\nnhs_number = "NHSNumber"\nforename = "PatientForename"\n'
            'surname = "PatientSurname"\ndate_of_birth = "DateOfBirth"\nsex = "SexCode"\n'
            'postcode = "PostcodeAtAttendance"\nevent_date = "ArrivalDate"\n',
        ),
        "cmht": (
            ["Patient ID", "NHS No", "Forename", "Surname", "Previous Surname", "Date of Birth",
             "Gender", "Post Code", "Referral Date"],
            lambda r, g: [r.record_id, (r.nhs[:3] + " " + r.nhs[3:6] + " " + r.nhs[6:]) if r.nhs else "",
                          _case(r.forename or "", g), _case(r.surname or "", g), _previous(r).upper(),
                          _fmt_date(r.dob, "%d/%m/%Y"), sexw(r.sex), _fmt_postcode(r.postcode, g),
                          _fmt_date(r.event, "%d/%m/%Y")],
            'record_id = "Patient ID"\nnhs_number = "NHS No"\nforename = "Forename"\n'
            'surname = "Surname"\nprevious_surname = "Previous Surname"\n'
            'date_of_birth = { column = "Date of Birth", format = "%d/%m/%Y" }\n'
            'sex = "Gender"\npostcode = "Post Code"\n'
            'event_date = { column = "Referral Date", format = "%d/%m/%Y" }\n',
        ),
        "dwp": (
            ["Claim Ref", "Forename", "Surname", "DOB", "NINO", "Postcode", "UPRN", "Claim Date"],
            lambda r, g: [r.record_id, _case(r.forename or "", g), _case(r.surname or "", g),
                          _fmt_date(r.dob, "%d.%m.%Y"), r.ni or "", _fmt_postcode(r.postcode, g),
                          r.uprn or "", _fmt_date(r.event, "%d.%m.%Y")],
            'record_id = "Claim Ref"\nforename = "Forename"\nsurname = "Surname"\n'
            'date_of_birth = { column = "DOB", format = "%d.%m.%Y" }\nni_number = "NINO"\n'
            'postcode = "Postcode"\nuprn = "UPRN"\n'
            'event_date = { column = "Claim Date", format = "%d.%m.%Y" }\n',
        ),
        "police": (
            ["Custody Ref", "Full Name", "Birth Date", "Sex", "Home Postcode", "Arrest Date"],
            lambda r, g: [r.record_id, f"{(r.surname or '').upper()}, {_case(r.forename or '', g)}",
                          _fmt_date(r.dob, "%Y%m%d"), sexw(r.sex), _fmt_postcode(r.postcode, g),
                          _fmt_date(r.event, "%Y%m%d")],
            'record_id = "Custody Ref"\nfull_name = "Full Name"\n'
            'date_of_birth = { column = "Birth Date", format = "%Y%m%d" }\nsex = "Sex"\n'
            'postcode = "Home Postcode"\n'
            'event_date = { column = "Arrest Date", format = "%Y%m%d" }\n',
        ),
        "iom": (
            ["CRN", "Given Name", "Family Name", "DOB", "NI No", "Postcode", "Start"],
            lambda r, g: [r.record_id, _case(r.forename or "", g), _case(r.surname or "", g),
                          _fmt_date(r.dob, "%d/%m/%Y"), r.ni or "", _fmt_postcode(r.postcode, g),
                          _fmt_date(r.event, "%d/%m/%Y")],
            'record_id = "CRN"\nforename = "Given Name"\nsurname = "Family Name"\n'
            'date_of_birth = { column = "DOB", format = "%d/%m/%Y" }\nni_number = "NI No"\n'
            'postcode = "Postcode"\nevent_date = { column = "Start", format = "%d/%m/%Y" }\n',
        ),
        "drugs": (
            ["ID", "Client Name", "D.O.B", "Sex", "Postcode", "NHS Number", "Episode Start"],
            lambda r, g: [r.record_id, f"{_case(r.forename or '', g)} {_case(r.surname or '', g)}".strip(),
                          _fmt_date(r.dob, "%d-%m-%Y"), r.sex, _fmt_postcode(r.postcode, g),
                          r.nhs or "", _fmt_date(r.event, "%d-%m-%Y")],
            'record_id = "ID"\nfull_name = "Client Name"\n'
            'date_of_birth = { column = "D.O.B", format = "%d-%m-%Y" }\nsex = "Sex"\n'
            'postcode = "Postcode"\nnhs_number = "NHS Number"\n'
            'event_date = { column = "Episode Start", format = "%d-%m-%Y" }\n',
        ),
        "refuge": (
            ["Case No", "First name", "Surname", "Date of birth", "Postcode", "Referral date"],
            lambda r, g: [r.record_id, _case(r.forename or "", g), _case(r.surname or "", g),
                          _fmt_date(r.dob, "%d/%m/%Y"), _fmt_postcode(r.postcode, g),
                          _fmt_date(r.event, "%d/%m/%Y")],
            'record_id = "Case No"\nforename = "First name"\nsurname = "Surname"\n'
            'date_of_birth = { column = "Date of birth", format = "%d/%m/%Y" }\n'
            'postcode = "Postcode"\nevent_date = { column = "Referral date", format = "%d/%m/%Y" }\n',
        ),
    }  # fmt: skip


# The CSV extracts not written as UTF-8 with commas, as some partners' systems export them:
# Windows-1252 with semicolons, a byte-order mark, tabs.
_ENCODING = {"housing": ("cp1252", ";"), "dwp": ("utf-8-sig", ","), "drugs": ("utf-8", "\t")}


def _mapping_text(spec: SourceSpec, columns: str) -> str:
    return (
        "# Mapping for a synthetic extract (fictional people)\n[source]\n"
        f'partner = "{spec.partner}"\nservice = "{spec.service}"\nneed = "{spec.need}"\n'
        f'cost_item = "{spec.cost_item}"\n'
        'legal_basis = "UK GDPR 6(1)(e); 9(2)(g) with DPA 2018 Sch.1 para 6"\n'
        'dsa_reference = "DSA-NB-2025-001"\nretain_until = 2027-03-31\n\n'
        f"[columns]\n{columns}"
    )


def _write(path: Path, header: list[str], rows: list[list[Any]], fmt: str, layout: str) -> None:
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Extract")
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        book.save(path)
        return
    encoding, delimiter = _ENCODING.get(layout, ("utf-8", ","))
    with path.open("w", encoding=encoding, newline="", errors="replace") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
