"""Ingest: every row accounted for, whole file or nothing, clear errors, idempotent."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import Workbook

from joinedup.insight.ingest import IngestError, ingest_file
from joinedup.insight.mapping import MappingError, parse_mapping

from .conftest import MAPPING, ROWS, write_csv


def _snapshot(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    return tuple(
        con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()  # noqa: S608
        for t in ("sources", "records", "quarantine")
    )


@pytest.mark.parametrize(
    ("encoding", "sep"), [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", "\t"), ("utf-8", "|")]
)
def test_ingest_csv_encodings_and_delimiters(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path, encoding: str, sep: str
) -> None:
    path = write_csv(tmp_path / "housing.csv", ROWS, sep=sep, encoding=encoding)
    report = ingest_file(store, path, mapping_path)
    assert report.source == "housing"
    assert (report.rows, report.records, report.quarantined) == (4, 4, 0)
    row = store.execute(
        "SELECT forename, forename_raw, surname, postcode, ni_number, date_of_birth, need "
        "FROM records WHERE record_id = 'H2'"
    ).fetchone()
    assert row is not None
    assert row[:3] == ("ZOE", "Zoë", "OBRIEN")
    assert str(row[5]) == "1975-12-31" and row[6] == "homelessness"


def test_invalid_identifier_is_set_aside_not_lost(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    report = ingest_file(store, write_csv(tmp_path / "h.csv", ROWS), mapping_path)
    assert report.records == 4 and report.warnings == 1
    ni, warnings = store.execute(
        "SELECT ni_number, warnings FROM records WHERE record_id = 'H3'"
    ).fetchone() or (None, None)
    assert ni is None and "National Insurance" in warnings


def test_every_row_is_a_record_or_quarantined(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    rows = [
        *ROWS,
        ["H1", "Bob", "Smith", "01/02/1980", "", "", ""],  # duplicated id
        ["", "Jo", "Bloggs", "01/01/1990", "", "", ""],  # no id
        ["H9", "", "", "", "", "", ""],  # nothing to link on
    ]
    report = ingest_file(store, write_csv(tmp_path / "h.csv", rows), mapping_path)
    assert report.rows == 7
    assert report.records + report.quarantined == report.rows
    assert report.quarantine_reasons == {
        "duplicated record_id": 1, "no record_id": 1, "nothing to link on": 1,
    }  # fmt: skip
    (held,) = store.execute("SELECT count(*) FROM records").fetchone() or (0,)
    (q,) = store.execute("SELECT count(*) FROM quarantine").fetchone() or (0,)
    assert held + q == 7
    reasons = store.execute("SELECT reasons FROM quarantine WHERE row_number = 6").fetchone()
    assert reasons == ("duplicated record_id (first on row 2)",)


def test_reingest_identical_is_noop_and_new_file_replaces(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    path = write_csv(tmp_path / "h.csv", ROWS)
    ingest_file(store, path, mapping_path)
    before = _snapshot(store)
    again = ingest_file(store, path, mapping_path)
    assert again.unchanged
    assert _snapshot(store) == before
    write_csv(path, ROWS[:3])
    replaced = ingest_file(store, path, mapping_path)
    assert replaced.replaced and replaced.records == 2
    assert store.execute("SELECT count(*) FROM records").fetchone() == (2,)


def test_a_replacement_says_which_records_left_and_which_ids_went_to_somebody_else(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path
) -> None:
    """A correction (names swapped, a date of birth fixed) keeps its id's decisions; an id held
    with another forename, surname and date of birth is taken for somebody else's."""
    path = write_csv(tmp_path / "h.csv", ROWS)
    ingest_file(store, path, mapping_path)
    store.execute(
        "CREATE TABLE review_decisions (unique_id_l VARCHAR, unique_id_r VARCHAR, decision VARCHAR, "
        "decided_by VARCHAR, decided_at TIMESTAMP, match_probability DOUBLE)"
    )
    store.executemany(
        "INSERT INTO review_decisions VALUES (?, 'x|1', 'same', 'a', now(), 0.9)",
        [[f"housing|H{i}"] for i in range(1, 5)],
    )
    header, h1, h2, h3, _h4 = ROWS
    corrected = [h1[0], h1[2], h1[1], *h1[3:]]  # forename and surname swapped back
    fixed = [*h3[:3], "03/03/1990", *h3[4:]]  # one date of birth mended
    reissued = [h2[0], "Omar", "Farouk", "01/01/2001", *h2[4:]]
    write_csv(path, [header, corrected, reissued, fixed])  # H4 dropped
    report = ingest_file(store, path, mapping_path)
    assert (report.records_gone, report.records_reissued, report.decisions_gone) == (1, 1, 2)
    assert report.gone_note() == (
        "1 record held before is not in this extract; 1 record keeps its id with another forename, "
        "surname and date of birth, so is taken for somebody else; 2 review decisions on them went with them"
    )
    left = store.execute("SELECT unique_id_l FROM review_decisions ORDER BY 1").fetchall()
    assert left == [("housing|H1",), ("housing|H3",)]


def _bad_case(tmp_path: Path, case: str, mapping_path: Path) -> tuple[Path, Path, str]:
    csv = tmp_path / "housing.csv"
    if case == "wrong encoding":
        csv.write_bytes("\n".join(",".join(r) for r in ROWS).encode("utf-16"))
        return csv, mapping_path, "not UTF-8 or Windows-1252"
    if case == "empty file":
        csv.write_bytes(b"")
        return csv, mapping_path, "empty"
    if case == "header only":
        write_csv(csv, ROWS[:1])
        return csv, mapping_path, "no rows"
    if case == "missing column":
        write_csv(csv, [r[:3] + r[4:] for r in ROWS])  # no DOB column
        return csv, mapping_path, "housing.toml line 13: column 'DOB' for date_of_birth"
    if case == "mapping names absent column":
        mapping_path.write_text(MAPPING.replace('"Postcode"', '"Post Code"'))
        write_csv(csv, ROWS)
        return csv, mapping_path, "line 14: column 'Post Code' for postcode is not in"
    if case == "wrong date format":
        mapping_path.write_text(MAPPING.replace('"%d/%m/%Y" }\npostcode', '"%m-%d-%Y" }\npostcode'))
        write_csv(csv, ROWS)
        return csv, mapping_path, "line 13: date_of_birth column 'DOB' does not match"
    if case == "duplicated ids":
        write_csv(csv, [ROWS[0]] + [["H1", *r[1:]] for r in ROWS[1:]])
        return csv, mapping_path, "does not identify rows"
    if case == "merged header cells":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Client", None, None, "DOB", "Postcode", "NI Number", "Approach Date"])
        sheet.merge_cells("A1:C1")
        for row in ROWS[1:]:
            sheet.append(row)
        xlsx = tmp_path / "housing.xlsx"
        book.save(xlsx)
        return xlsx, mapping_path, "header cell B1 is blank"
    if case == "unknown field":
        mapping_path.write_text(MAPPING + 'shoe_size = "Shoes"\n')
        write_csv(csv, ROWS)
        return csv, mapping_path, "line 17: 'shoe_size' is not a standard field"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "wrong encoding", "empty file", "header only", "missing column",
        "mapping names absent column", "wrong date format", "duplicated ids",
        "merged header cells", "unknown field",
    ],
)  # fmt: skip
def test_bad_files_fail_cleanly_and_change_nothing(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path, case: str
) -> None:
    good = write_csv(tmp_path / "good.csv", ROWS)
    ingest_file(store, good, mapping_path, source="housing")
    before = _snapshot(store)
    path, mapping, expected = _bad_case(tmp_path, case, mapping_path)
    with pytest.raises(IngestError) as info:
        ingest_file(store, path, mapping, source="housing")
    message = str(info.value)
    assert expected in message
    assert "\n" not in message  # one line
    assert _snapshot(store) == before


def test_xlsx_and_parquet(store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in ROWS:
        sheet.append(row)
    book.save(tmp_path / "h.xlsx")
    assert ingest_file(store, tmp_path / "h.xlsx", mapping_path, source="x").records == 4
    frame = pd.DataFrame(ROWS[1:], columns=ROWS[0])
    frame.to_parquet(tmp_path / "h.parquet")
    assert ingest_file(store, tmp_path / "h.parquet", mapping_path, source="p").records == 4


def test_full_name_split_and_one_column_two_fields(store: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    mapping = tmp_path / "police.toml"
    mapping.write_text(
        '[source]\npartner = "Police"\nservice = "Custody"\nneed = "offending"\n\n[columns]\n'
        'record_id = "Ref"\nfull_name = "Name"\ndate_of_birth = "Born"\n'
        'event_date = "Born"\n'
    )
    csv = write_csv(
        tmp_path / "p.csv", [["Ref", "Name", "Born"], ["1", "Smith, John", "1980-01-02"]], sep=";"
    )
    ingest_file(store, csv, mapping)
    row = store.execute("SELECT forename, surname, date_of_birth, event_date FROM records").fetchone()
    assert row is not None and row[:2] == ("JOHN", "SMITH") and row[2] == row[3]


def test_mapping_errors_name_the_line() -> None:
    with pytest.raises(MappingError, match="line 1: the mapping needs a \\[source\\]"):
        parse_mapping("[columns]\nrecord_id = 'x'\n", "m.toml")
    with pytest.raises(MappingError, match="m.toml line 5: only date fields take a format"):
        parse_mapping(
            '[source]\npartner = "P"\nservice = "S"\n[columns]\n'
            'postcode = { column = "PC", format = "%Y" }\nrecord_id = "x"\n',
            "m.toml",
        )
    with pytest.raises(MappingError, match="needs record_id"):
        parse_mapping('[source]\npartner = "P"\nservice = "S"\n[columns]\nsurname = "x"\n', "m")
