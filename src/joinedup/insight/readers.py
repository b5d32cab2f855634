"""Read a partner extract (CSV, XLSX or Parquet) into a table of text cells.

Every cell comes back as text (or None) so that ingest sees exactly what the partner wrote;
types are decided by the mapping, not guessed by a reader.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

__all__ = ["ReadError", "read_extract"]


class ReadError(ValueError):
    """The file cannot be read as an extract; nothing is changed."""


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:65536]:
        raise ReadError(
            f"{name}: cannot be read: it is not UTF-8 or Windows-1252 text "
            "(it may be UTF-16 or a binary file saved with the wrong extension)"
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReadError(f"{name}: cannot be read: it is not UTF-8 or Windows-1252 text")


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise ReadError(f"{path.name}: the file is empty")
    text = _decode(data, path.name)
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(
            sample.split("\n", 20)[0] if "\n" in sample else sample, delimiters=",;\t|"
        )
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ReadError(f"{path.name}: cannot be read as CSV ({exc})") from exc
    return frame


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad workbook
        raise ReadError(f"{path.name}: cannot be read as XLSX ({exc})") from exc
    try:
        if sheet is not None:
            if sheet not in book.sheetnames:
                raise ReadError(f"{path.name}: has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
            ws = book[sheet]
        else:
            ws = book[book.sheetnames[0]]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ReadError(f"{path.name}: the sheet {ws.title!r} is empty")
        names = [None if h is None else str(h).strip() for h in header]
        while names and not names[-1]:
            names.pop()
        for position, value in enumerate(names, start=1):
            if not value:
                raise ReadError(
                    f"{path.name}: header cell {_column_letter(position)}1 is blank; merged "
                    "or multi-row header cells cannot be read, so give every column one name "
                    "in the first row"
                )
        width = len(names)
        body = [
            [_cell_text(v) for v in row[:width]] + [None] * (width - len(row[:width]))
            for row in rows
            if any(v is not None and str(v).strip() for v in row[:width])
        ]
    finally:
        book.close()
    return pd.DataFrame(body, columns=names, dtype=object)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10] if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _column_letter(position: int) -> str:
    letters = ""
    while position:
        position, rem = divmod(position - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise ReadError(f"{path.name}: cannot be read as Parquet ({exc})") from exc
    frame = table.to_pandas()
    for column in frame.columns:
        frame[column] = frame[column].map(_cell_text, na_action="ignore")
    return frame


def read_extract(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """Read an extract; raise ReadError with a one-line message if it cannot be read."""
    if not path.is_file():
        raise ReadError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        frame = _read_xlsx(path, sheet)
    elif suffix in {".parquet", ".pq"}:
        frame = _read_parquet(path)
    elif suffix in {".csv", ".txt", ".tsv"}:
        frame = _read_csv(path)
    else:
        raise ReadError(f"{path.name}: unsupported file type {suffix!r} (use CSV, XLSX or Parquet)")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise ReadError(f"{path.name}: column {duplicated[0]!r} appears more than once")
    if len(frame) == 0:
        raise ReadError(f"{path.name}: the file has a header but no rows")
    return frame
