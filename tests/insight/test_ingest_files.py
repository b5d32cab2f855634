"""Files as council systems really write them (issue 7, section 6): nothing lost, nothing
silently changed. Each file goes in whole with every row a record or quarantined with a
reason, or not at all with one clear message; the source held before is never replaced by an
empty or broken one. Every bad file is built here, in the test."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from joinedup.insight.ingest import IngestError, ingest_file

from .conftest import ROWS, write_csv

HEADER = ROWS[0]


def _snapshot(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    return tuple(
        con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()  # noqa: S608
        for t in ("sources", "records", "quarantine")
    )


def _quarantine(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    return dict(con.execute("SELECT row_number, reasons FROM quarantine").fetchall())


def _filler(n: int, start: int = 100) -> list[list[str]]:
    return [[f"F{i}", "Ann", "Lee", "05/06/1970", "W1A 1HQ", "", "06/07/2024"]
            for i in range(start, start + n)]  # fmt: skip


def _accounted(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    (records,) = con.execute("SELECT count(*) FROM records").fetchone() or (0,)
    (quarantined,) = con.execute("SELECT count(*) FROM quarantine").fetchone() or (0,)
    assert records + quarantined == rows


def test_nul_byte_after_the_first_64_kb_quarantines_the_row_never_cuts_it(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    filler = _filler(1500)  # well past 64 KB
    rows = [HEADER, *filler, ["N1", "Sam", "Jo\x00nes", "01/02/1980", "M1 1AA", "", ""]]
    path = write_csv(tmp_path / "housing.csv", rows)
    assert path.stat().st_size > 65536
    report = ingest_file(store, path, mapping_path)
    assert report.rows == 1501 and report.quarantined == 1
    assert store.execute("SELECT count(*) FROM records WHERE surname = 'JO'").fetchone() == (0,)
    reason = _quarantine(store)[1502]
    assert "row 1502" in reason and "NUL" in reason and "Last Name" in reason
    _accounted(store, 1501)


def test_nul_bytes_early_in_a_text_file_quarantine_their_rows(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    rows = [HEADER, ROWS[1], ["N1", "Sam", "Jo\x00nes", "01/02/1980", "M1 1AA", "", ""], *ROWS[2:]]
    report = ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping_path)
    assert (report.records, report.quarantined) == (4, 1)
    assert "row 3" in _quarantine(store)[3]


def test_one_windows_1252_row_in_a_utf8_file_is_quarantined_not_mojibaked(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    utf8 = [HEADER, ["B1", "Björn", "Åberg", "01/02/1980", "M1 1AA", "", ""],
            ["B2", "Siân", "Hughes", "02/03/1981", "M1 1AA", "", ""], *ROWS[1:]]  # fmt: skip
    text = "\n".join(",".join(r) for r in utf8) + "\n"
    stray = "B3,Zoë,Müller,03/04/1982,M1 1AA,,\n".encode("cp1252")
    path = tmp_path / "housing.csv"
    path.write_bytes(text.encode("utf-8") + stray)
    report = ingest_file(store, path, mapping_path)
    raw = dict(store.execute("SELECT record_id, forename_raw FROM records").fetchall())
    assert raw["B1"] == "Björn" and raw["B2"] == "Siân" and raw["H2"] == "Zoë"
    assert report.quarantined == 1
    reason = _quarantine(store)[8]
    assert "row 8" in reason and "UTF-8" in reason
    assert any("UTF-8" in note for note in report.notes)


def test_a_windows_1252_file_with_one_utf8_looking_row_quarantines_that_row(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    cp = [HEADER, ["B1", "Björn", "Åberg", "01/02/1980", "M1 1AA", "", ""],
          ["B2", "Siân", "Hughes", "02/03/1981", "M1 1AA", "", ""], *ROWS[1:]]  # fmt: skip
    text = ("\n".join(",".join(r) for r in cp) + "\n").encode("cp1252")
    path = tmp_path / "housing.csv"
    path.write_bytes(text + "B3,Zoë,Müller,03/04/1982,M1 1AA,,\n".encode())
    report = ingest_file(store, path, mapping_path)
    raw = dict(store.execute("SELECT record_id, forename_raw FROM records").fetchall())
    assert raw["B1"] == "Björn" and raw["H2"] == "Zoë"
    assert report.quarantined == 1 and "row 8" in _quarantine(store)[8]


def test_xlsx_with_a_stale_dimension_loses_no_rows(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in ROWS:
        sheet.append(row)
    good = tmp_path / "good.xlsx"
    book.save(good)
    stale = tmp_path / "housing.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(stale, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:G2"', data)
                assert n == 1
            out.writestr(info, data)
    report = ingest_file(store, stale, mapping_path)
    assert (report.rows, report.records) == (4, 4)


@pytest.mark.parametrize("where", ["first data row", "middle row", "short row"])
def test_a_ragged_row_is_quarantined_and_the_rest_goes_in(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path, where: str
) -> None:
    ragged = ["R1", "Extra", "Field", "01/02/1980", "M1 1AA", "", "03/04/2024", "surplus"]
    if where == "short row":
        ragged = ["R1", "Short", "Row"]
    body = [*ROWS[1:], *_filler(20)]
    at = 0 if where == "first data row" else 2
    rows = [HEADER, *body[:at], ragged, *body[at:]]
    report = ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping_path)
    assert (report.rows, report.quarantined) == (25, 1)
    row = at + 2
    reason = f"wrong number of fields (row {row} has {len(ragged)} fields; the header has 7)"
    assert _quarantine(store)[row] == reason
    assert report.quarantine_reasons == {"wrong number of fields": 1}
    # No column shifted: every record still has its own name and date of birth.
    got = store.execute("SELECT forename_raw, date_of_birth FROM records WHERE record_id = 'H1'").fetchone()
    assert got is not None and got[0] == "Bill" and str(got[1]) == "1980-02-01"
    _accounted(store, 25)


def test_duplicate_header_is_refused_naming_the_column(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    rows = [[*HEADER, "Postcode"]] + [[*r, "ZZ1 1ZZ"] for r in ROWS[1:]]
    with pytest.raises(IngestError, match="column 'Postcode' appears 2 times"):
        ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping_path)


def test_all_blank_record_ids_are_refused_and_keep_the_source_held(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    ingest_file(store, write_csv(tmp_path / "housing.csv", ROWS), mapping_path)
    before = _snapshot(store)
    blank = [HEADER] + [["", *r[1:]] for r in ROWS[1:]]
    with pytest.raises(IngestError) as info:
        ingest_file(store, write_csv(tmp_path / "housing.csv", blank), mapping_path)
    assert "record_id column 'Client Ref' is blank in 4 of 4 rows" in str(info.value)
    assert _snapshot(store) == before


def test_a_file_with_no_usable_record_is_refused(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    ingest_file(store, write_csv(tmp_path / "housing.csv", ROWS), mapping_path)
    before = _snapshot(store)
    unusable = [HEADER] + [[r[0], "", "", "", "", "", ""] for r in ROWS[1:]]
    with pytest.raises(IngestError, match="none of its 4 rows can be used"):
        ingest_file(store, write_csv(tmp_path / "housing.csv", unusable), mapping_path)
    assert _snapshot(store) == before


def test_day_first_and_month_first_dates_in_one_column_set_ambiguous_values_aside(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    rows = [
        HEADER,
        ["D1", "Ann", "Day", "13/01/1980", "M1 1AA", "", ""],  # only day-first
        ["D2", "Bob", "Month", "01/13/1980", "M1 1AA", "", ""],  # only month-first
        ["D3", "Cat", "Either", "05/06/1980", "M1 1AA", "", ""],  # 5 June or 6 May
        ["D4", "Dan", "Same", "07/07/1980", "M1 1AA", "", ""],  # the same either way
    ]
    report = ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping_path)
    got = {r[0]: (r[1], r[2]) for r in store.execute(
        "SELECT record_id, date_of_birth, warnings FROM records").fetchall()}  # fmt: skip
    assert str(got["D1"][0]) == "1980-01-13" and str(got["D4"][0]) == "1980-07-07"
    assert got["D3"][0] is None and "could be 5 June 1980 or 6 May 1980" in got["D3"][1]
    assert got["D2"][0] is None and "month-first" in got["D2"][1]
    assert any("day-first and month-first" in note and "DOB" in note for note in report.notes)


def test_excel_serial_dates_are_read_as_dates(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(["S1", "Ann", "Serial", 29221, "M1 1AA", "", 45292])  # numbers, no date format
    sheet.append(["S2", "Bob", "Text", "01/02/1980", "M1 1AA", "", "03/04/2024"])
    sheet.append(["S3", "Cat", "Year", 1980, "M1 1AA", "", ""])  # a year alone is not a date
    book.save(tmp_path / "housing.xlsx")
    report = ingest_file(store, tmp_path / "housing.xlsx", mapping_path)
    got = {r[0]: r[1:] for r in store.execute(
        "SELECT record_id, date_of_birth, event_date, warnings FROM records").fetchall()}  # fmt: skip
    assert str(got["S1"][0]) == "1980-01-01" and str(got["S1"][1]) == "2024-01-01"
    assert str(got["S2"][0]) == "1980-02-01"
    assert got["S3"][0] is None and "a year" in got["S3"][2]
    assert any("Excel" in note for note in report.notes)


def test_excel_serial_dates_in_a_csv_date_column(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    rows = [HEADER, ["S1", "Ann", "Serial", "29221", "M1 1AA", "", "45292.5"], *ROWS[1:]]
    ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping_path)
    got = store.execute("SELECT date_of_birth, event_date FROM records WHERE record_id = 'S1'").fetchone()
    assert got is not None and (str(got[0]), str(got[1])) == ("1980-01-01", "2024-01-01")



def test_excel_serial_dates_of_a_1904_workbook_count_from_1904(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    book = Workbook()
    book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(["S1", "Ann", "Serial", 27759, "M1 1AA", "", ""])
    book.save(tmp_path / "housing.xlsx")
    ingest_file(store, tmp_path / "housing.xlsx", mapping_path)
    got = store.execute("SELECT date_of_birth FROM records").fetchone()
    assert got is not None and str(got[0]) == "1980-01-01"  # 27,759 days after 1 January 1904


def test_empty_fields_after_the_last_column_are_not_a_ragged_row(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    rows = [HEADER, [*ROWS[1], "", ""], *ROWS[2:]]
    report = ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping_path)
    assert (report.records, report.quarantined) == (4, 0)


def test_xlsx_rows_keep_their_sheet_row_numbers_across_blank_rows(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(ROWS[1])
    sheet.append(["H9", "", "", "", "", "", ""])  # row 3: nothing to link on
    for number, row in ((6, ROWS[2]), (9, ["H9", "Dup", "Row", "01/02/1980", "M1 1AA", "", ""])):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=number, column=column, value=value)
    book.save(tmp_path / "housing.xlsx")
    ingest_file(store, tmp_path / "housing.xlsx", mapping_path)
    assert store.execute("SELECT row_number FROM records ORDER BY 1").fetchall() == [(2,), (6,)]
    assert set(_quarantine(store)) == {3, 9}


def test_the_reports_notes_are_kept_with_the_source(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    rows = [HEADER, ["S1", "Ann", "Serial", "29221", "M1 1AA", "", ""], *ROWS[1:]]
    report = ingest_file(store, write_csv(tmp_path / "housing.csv", rows), mapping_path)
    (notes,) = store.execute("SELECT notes FROM sources").fetchone() or (None,)
    assert report.notes and notes == "\n".join(report.notes)
