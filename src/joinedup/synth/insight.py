"""A fictional place's partner extracts, as hard as life, with the truth kept beside them.

`generate_place(people, out_dir, seed)` writes one extract per service in its own raw
layout (column names, date formats, encodings, CSV and XLSX), its mapping, and
``truth.csv`` (source, record_id, person). The people are made up; the mess is modelled on
what partners' systems really hold: nicknames, typos, swapped names, changed surnames,
transposed dates, old addresses, missing and mistyped identifiers, repeat contacts, and a
small group with complex needs known to many services.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from joinedup.synth.insight_people import Person, _make_people
from joinedup.synth.insight_records import _Record, _variant
from joinedup.synth.insight_sources import SOURCES, SourceSpec, _services_for

__all__ = [
    "SOURCES",
    "Later",
    "Person",
    "SourceSpec",
    "SyntheticPlace",
    "generate_place",
    "load_demo_insight",
]


# Adds records to a place: given its people, its records by source and the counters of
# record ids (both to extend), the added records by source and, for each, the random
# numbers that write its row (one stream a record, so a row reads the same in every file).
Later = Callable[
    [list["Person"], dict[str, list["_Record"]], dict[str, int]],
    tuple[dict[str, list["_Record"]], Callable[["_Record"], random.Random]],
]


@dataclass
class SyntheticPlace:
    out_dir: Path
    people: int
    records: int
    sources: list[str] = field(default_factory=list)

    def extract(self, source: str) -> Path:
        for suffix in (".csv", ".xlsx"):
            path = self.out_dir / f"{source}{suffix}"
            if path.exists():
                return path
        raise FileNotFoundError(source)

    def mapping(self, source: str) -> Path:
        return self.out_dir / f"{source}.toml"


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


# Each layout: header, how to turn a record into a row, and the mapping's [columns].
Layout = tuple[list[str], Callable[[_Record, random.Random], list[Any]], str]


def _layouts() -> dict[str, Layout]:
    def sexw(s: str) -> str:
        return {"M": "Male", "F": "Female"}[s]

    return {
        "housing": (
            ["Client Ref", "First Name", "Last Name", "DOB", "Postcode", "Address",
             "NI Number", "Approach Date"],
            lambda r, g: [r.record_id, _case(r.forename or "", g), _case(r.surname or "", g),
                          _fmt_date(r.dob, "%d/%m/%Y"), _fmt_postcode(r.postcode, g),
                          (r.address or "").title(), r.ni or "", _fmt_date(r.event, "%d/%m/%Y")],
            'record_id = "Client Ref"\nforename = "First Name"\nsurname = "Last Name"\n'
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
            ["Patient ID", "NHS No", "Forename", "Surname", "Date of Birth", "Gender",
             "Post Code", "Referral Date"],
            lambda r, g: [r.record_id, (r.nhs[:3] + " " + r.nhs[3:6] + " " + r.nhs[6:]) if r.nhs else "",
                          _case(r.forename or "", g), _case(r.surname or "", g),
                          _fmt_date(r.dob, "%d/%m/%Y"), sexw(r.sex), _fmt_postcode(r.postcode, g),
                          _fmt_date(r.event, "%d/%m/%Y")],
            'record_id = "Patient ID"\nnhs_number = "NHS No"\nforename = "Forename"\n'
            'surname = "Surname"\ndate_of_birth = { column = "Date of Birth", format = "%d/%m/%Y" }\n'
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


def generate_place(
    people: int,
    out_dir: Path,
    seed: int = 1,
    *,
    formats: str = "mixed",
    adjust: Callable[[random.Random, list[Person], dict[str, list[_Record]]], None] | None = None,
    later: Later | None = None,
) -> SyntheticPlace:
    """Write a synthetic place to out_dir. formats='csv' writes every extract as CSV
    (benchmarks at a million records, where writing XLSX would dominate). ``adjust`` may
    change the events before they are written (synth/programme.py plants a programme).
    ``later`` adds records after the place's own (synth/next_month.py: next month's
    extracts); it draws on its own random numbers, so every row the place had is written
    exactly as before and only the added rows are new."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    persons = _make_people(rng, people)
    by_source: dict[str, list[_Record]] = {s.name: [] for s in SOURCES}
    counters = dict.fromkeys(by_source, 0)
    start = date(2023, 4, 1)
    for person in persons:
        for spec in _services_for(rng, person):
            repeats = 1 + min(12, int(rng.expovariate(1 / (spec.repeat * (2 if person.complex else 1)))))
            for _ in range(repeats):
                counters[spec.name] += 1
                rid = f"{spec.name[:3].upper()}{counters[spec.name]:07d}"
                event = start + timedelta(days=rng.randint(0, 729))
                by_source[spec.name].append(_variant(person, spec, rng, rid, event))
    # Every service knows someone, however small the place.
    for spec in SOURCES:
        if not by_source[spec.name]:
            person = rng.choice(persons)
            counters[spec.name] += 1
            rid = f"{spec.name[:3].upper()}{counters[spec.name]:07d}"
            by_source[spec.name].append(_variant(person, spec, rng, rid, start))
    if adjust is not None:
        adjust(rng, persons, by_source)
    added, row_rng = later(persons, by_source, counters) if later else ({}, lambda _r: rng)
    layouts = _layouts()
    truth: list[tuple[str, str, int]] = []
    place = SyntheticPlace(out_dir=out_dir, people=people, records=0)
    for spec in SOURCES:
        records = by_source[spec.name]
        rng.shuffle(records)
        header, to_row, columns = layouts[spec.layout]
        fmt = "csv" if formats == "csv" else spec.fmt
        rows = [to_row(r, rng) for r in records]
        # Some extracts repeat a row verbatim (a system exporting an episode twice).
        if records and rng.random() < 0.5:
            rows.append(list(rows[0]))
        records = records + added.get(spec.name, [])
        rows += [to_row(r, row_rng(r)) for r in added.get(spec.name, [])]
        _write(out_dir / f"{spec.name}.{fmt}", header, rows, fmt, spec.layout)
        (out_dir / f"{spec.name}.toml").write_text(_mapping_text(spec, columns), encoding="utf-8")
        truth.extend((spec.name, r.record_id, r.person) for r in records)
        place.sources.append(spec.name)
        place.records += len(records)
    with (out_dir / "truth.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "record_id", "person"])
        writer.writerows(truth)
    return place


def load_demo_insight(place_slug: str, settings: Any) -> None:
    """Build, ingest and link a synthetic place for the demo; idempotent and quick."""
    from joinedup.insight.pipeline import load_synthetic_place

    load_synthetic_place(place_slug, settings, people=2500, seed=2025)
