"""Uploads that cannot take the service down (issue 7, section 3): an extract is checked
against limits on rows, columns, cell size and, for XLSX, unpacked size and compression ratio
before it is read, and the mapping's columns against its header before any row. Each limit
is refused with one line that names it and its setting. Bombs are built here, never shipped."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from joinedup.config import Settings
from joinedup.insight.ingest import IngestError, ingest_file
from joinedup.insight.readers import Limits

from .conftest import ROWS, write_csv

HEADER = ROWS[0]


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_bomb(path: Path, unpacked_mb: int) -> Path:
    """A valid workbook whose one data row has a forename of `unpacked_mb` MB of 'A': it
    packs about 1,000 to 1, as a zip bomb does."""
    plain = write_xlsx(path.with_name("plain.xlsx"), [HEADER, ROWS[1]])
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if not info.filename.startswith("xl/worksheets/sheet"):
                out.writestr(info, src.read(info))
                continue
            with out.open(info.filename, "w", force_zip64=True) as sheet:
                cells = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADER)
                sheet.write(
                    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                    b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
                    + cells.encode() + b'</row><row r="2"><c t="inlineStr"><is><t>H1</t></is></c>'
                    b'<c t="inlineStr"><is><t>'
                )  # fmt: skip
                for _ in range(unpacked_mb):
                    sheet.write(b"A" * 2**20)
                sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    return path


def _snapshot(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    return tuple(
        con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()  # noqa: S608
        for t in ("sources", "records", "quarantine")
    )


@pytest.fixture
def held(store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path) -> tuple[object, ...]:
    """A source already held, which no refused file may change."""
    ingest_file(store, write_csv(tmp_path / "held.csv", ROWS), mapping_path, source="housing")
    return _snapshot(store)


def _refused(con: duckdb.DuckDBPyConnection, path: Path, mapping: Path, limits: Limits | None,
             held: tuple[object, ...]) -> str:  # fmt: skip
    with pytest.raises(IngestError) as info:
        ingest_file(con, path, mapping, source="housing", limits=limits)
    message = str(info.value)
    assert "\n" not in message
    assert _snapshot(con) == held
    return message


def test_zip_bomb_is_refused_from_the_archive_directory_before_openpyxl_opens_it(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path, held: tuple[object, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    bomb = write_bomb(tmp_path / "housing.xlsx", unpacked_mb=40)
    assert bomb.stat().st_size < 200 * 1024  # a few tens of KB that unpack to 40 MB

    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl opened a zip bomb")

    monkeypatch.setattr("openpyxl.load_workbook", must_not_open)
    message = _refused(store, bomb, mapping_path, None, held)
    assert "unpacks to" in message and "zip bomb" in message
    assert "JOINEDUP_INGEST_MAX_COMPRESSION_RATIO" in message


def test_workbook_unpacking_beyond_the_size_limit_is_refused(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path, held: tuple[object, ...]
) -> None:
    rows = [HEADER] + [[f"H{i}", "Ann", "Lee", "05/06/1970", "W1A 1HQ", "", ""] for i in range(30_000)]
    path = write_xlsx(tmp_path / "housing.xlsx", rows)
    message = _refused(store, path, mapping_path, Limits(max_unpacked_bytes=2**20), held)
    assert "the limit is 1 MB (setting JOINEDUP_INGEST_MAX_UNPACKED_MB)" in message


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_too_many_rows_columns_or_too_long_a_cell_is_refused_naming_the_limit(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path, held: tuple[object, ...],
    kind: str,
) -> None:  # fmt: skip
    def write(rows: list[list[str]]) -> Path:
        if kind == "csv":
            return write_csv(tmp_path / "housing.csv", rows)
        return write_xlsx(tmp_path / "housing.xlsx", rows)  # type: ignore[arg-type]

    many = [HEADER] + [[f"H{i}", "Ann", "Lee", "05/06/1970", "W1A 1HQ", "", ""] for i in range(30)]
    message = _refused(store, write(many), mapping_path, Limits(max_rows=20), held)
    assert "more than 20 rows; the limit is 20 (setting JOINEDUP_INGEST_MAX_ROWS)" in message

    wide = [[*HEADER, *(f"extra {i}" for i in range(10))]] + [[*r, *[""] * 10] for r in ROWS[1:]]
    message = _refused(store, write(wide), mapping_path, Limits(max_columns=12), held)
    assert "the header has 17 columns; the limit is 12 (setting JOINEDUP_INGEST_MAX_COLUMNS)" in message

    long = [HEADER, ROWS[1], ["H2", "A" * 500, "Lee", "05/06/1970", "W1A 1HQ", "", ""]]
    message = _refused(store, write(long), mapping_path, Limits(max_cell_chars=100), held)
    assert "row 3 has a value longer than 100 characters" in message
    assert "JOINEDUP_INGEST_MAX_CELL_CHARS" in message


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_mapping_is_checked_against_the_header_before_any_row_is_read(
    store: duckdb.DuckDBPyConnection, tmp_path: Path, mapping_path: Path, held: tuple[object, ...],
    kind: str,
) -> None:  # fmt: skip
    # Far more rows than the limit, and no DOB column: the header check must speak first.
    rows = [[h for h in HEADER if h != "DOB"]] + [
        [f"H{i}", "Ann", "Lee", "W1A 1HQ", "", ""] for i in range(50)
    ]
    path = (write_csv(tmp_path / "housing.csv", rows) if kind == "csv"
            else write_xlsx(tmp_path / "housing.xlsx", rows))  # type: ignore[arg-type]  # fmt: skip
    message = _refused(store, path, mapping_path, Limits(max_rows=5), held)
    assert "column 'DOB' for date_of_birth is not in housing" in message


def test_limits_come_from_the_settings() -> None:
    settings = Settings(ingest_max_rows=7, ingest_max_columns=8, ingest_max_cell_chars=9,
                        ingest_max_unpacked_mb=10, ingest_max_compression_ratio=11.0)  # fmt: skip
    assert Limits.from_settings(settings) == Limits(
        max_rows=7, max_columns=8, max_cell_chars=9, max_unpacked_bytes=10 * 2**20,
        max_compression_ratio=11.0,
    )  # fmt: skip
    defaults = Settings()
    assert Limits.from_settings(defaults) == Limits()
