"""Read a partner extract (CSV, XLSX or Parquet) into a table of text cells, within limits.

Every cell comes back as text (or None) so that ingest sees exactly what the partner wrote;
types are decided by the mapping, not guessed by a reader. A reader never changes a value
quietly: a row it cannot read faithfully (too many or too few fields, a NUL byte, bytes in
another encoding than the rest of the file) is handed back as a problem with its reason, to
be quarantined, and a file it cannot read at all is refused with one line that says why.

Before a single data row is read, the header goes to ``check_header`` (ingest checks the
mapping's columns there), and an XLSX archive's unpacked size and compression ratio are
checked against :class:`Limits`, so that a zip bomb or a wrong file costs milliseconds.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Extract", "Limits", "ReadError", "check_archive", "read_extract"]

HeaderCheck = Callable[[list[str]], None]

# XLSX cannot hold more rows than this; a sheet that claims more was not written by Excel.
XLSX_MAX_ROWS = 1_048_576
# Above this share of rows with the wrong number of fields, the delimiter or quoting is
# wrong for the whole file; quarantining most of it would hide that mistake.
MAX_RAGGED_SHARE = 0.5


class ReadError(ValueError):
    """The file cannot be read as an extract; nothing is changed."""


@dataclass(frozen=True)
class Limits:
    """What one extract may cost to read. Defaults match config.Settings."""

    max_rows: int = 2_000_000
    max_columns: int = 500
    max_cell_chars: int = 32_767
    max_unpacked_bytes: int = 1000 * 1024 * 1024
    max_compression_ratio: float = 100.0

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        default = cls()
        return cls(
            max_rows=int(getattr(settings, "ingest_max_rows", default.max_rows)),
            max_columns=int(getattr(settings, "ingest_max_columns", default.max_columns)),
            max_cell_chars=int(getattr(settings, "ingest_max_cell_chars", default.max_cell_chars)),
            max_unpacked_bytes=int(
                getattr(settings, "ingest_max_unpacked_mb", default.max_unpacked_bytes // 2**20)
            ) * 2**20,
            max_compression_ratio=float(
                getattr(settings, "ingest_max_compression_ratio", default.max_compression_ratio)
            ),
        )  # fmt: skip


@dataclass
class Extract:
    """An extract as read: one text column per header name, and what could not be read."""

    frame: pd.DataFrame
    # The file's row of each frame row (the header is row 1), as a spreadsheet shows it.
    row_numbers: list[int]
    # Frame position -> why that row cannot be read faithfully; its cells are all None.
    problems: dict[int, str] = field(default_factory=dict)
    # Frame position -> what the row held, for the quarantine's raw column.
    raw_rows: dict[int, dict[str, str]] = field(default_factory=dict)
    # File-level decisions the ingest report states (the encoding chosen, and why).
    notes: list[str] = field(default_factory=list)
    # Excel's 1904 date system (old Mac workbooks): day numbers count from 1904-01-01.
    date1904: bool = False


def _limit(what: str, limit: float, setting: str) -> str:
    shown = f"{limit:,.0f}" if float(limit).is_integer() else f"{limit:,}"
    return f"{what}; the limit is {shown} (setting JOINEDUP_{setting.upper()})"


# --- text: encoding decided per file, with evidence -----------------------------------------


@dataclass
class _Decoded:
    text: str
    # "utf-8": clean; "utf-8-mixed": some bytes are not UTF-8 (kept as surrogate escapes so
    # their rows can be found); "cp1252": Windows-1252, perhaps with UTF-8-looking rows.
    mode: str
    notes: list[str]


def _decode(data: bytes, name: str) -> _Decoded:
    sample = data[:65536]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError(f"{name}: cannot be read: it is UTF-16 text, not UTF-8 or Windows-1252; "
                        "save it as 'CSV UTF-8'")  # fmt: skip
    nuls = sample.count(b"\x00")
    # Text with a stray NUL byte or two is still text: those rows are quarantined. Many NULs
    # mean UTF-16 without its mark, or a binary file saved with the wrong extension.
    if nuls > 8 and nuls > len(sample) // 100:
        raise ReadError(
            f"{name}: cannot be read: it is not UTF-8 or Windows-1252 text "
            "(it may be UTF-16 or a binary file saved with the wrong extension)"
        )
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[3:] if bom else data
    try:
        return _Decoded(body.decode("utf-8"), "utf-8", [])
    except UnicodeDecodeError:
        pass
    bad_lines = utf8_lines = 0
    for line in body.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines += 1
        except UnicodeDecodeError:
            bad_lines += 1
    if bom or utf8_lines >= bad_lines:
        evidence = "it starts with the UTF-8 mark" if bom else f"{utf8_lines:,} lines are UTF-8"
        return _Decoded(
            body.decode("utf-8", errors="surrogateescape"), "utf-8-mixed",
            [f"read as UTF-8 ({evidence}); {bad_lines:,} lines are not UTF-8 and their rows "
             "are quarantined"],
        )  # fmt: skip
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ReadError(f"{name}: cannot be read: it is not UTF-8 or Windows-1252 text") from exc
    note = f"read as Windows-1252 ({bad_lines:,} lines are not UTF-8"
    note += f"; {utf8_lines:,} lines that look like UTF-8 are quarantined)" if utf8_lines else ")"
    return _Decoded(text, "cp1252", [note])


def _not_utf8(value: str) -> str | None:
    """The first byte of a value that was not UTF-8 (kept as a surrogate escape), shown."""
    for char in value:
        if "\udc80" <= char <= "\udcff":
            byte = ord(char) - 0xDC00
            shown = bytes([byte]).decode("cp1252", errors="replace")
            return f"byte 0x{byte:02X} ({shown!r} in Windows-1252)"
    return None


def _looks_utf8(value: str) -> str | None:
    """A Windows-1252 value that is really UTF-8 read wrongly ('BjÃ¶rn' for 'Björn')."""
    if value.isascii():
        return None
    try:
        fixed = value.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if fixed != value else None


def _as_written(value: str) -> str:
    """A value for the quarantine's raw column: stray bytes shown as Windows-1252."""
    if _not_utf8(value) is None:
        return value
    return value.encode("utf-8", errors="surrogateescape").decode("cp1252", errors="replace")


# Reasons read "<kind> (<detail>)", as ingest's own do, so the report counts them by kind.
RAGGED = "wrong number of fields"
NUL = "NUL byte in a value"
NOT_UTF8 = "not UTF-8 like the rest of the file"
LOOKS_UTF8 = "UTF-8 in a Windows-1252 file"


def _row_problem(row: list[str], header: list[str], number: int, mode: str) -> str | None:
    for name, value in zip(header, row, strict=False):
        if "\x00" in value:
            return (f"{NUL} (row {number}, column {name!r}: the value would be cut short at "
                    "it; the export is damaged here)")  # fmt: skip
        if mode == "utf-8-mixed" and (byte := _not_utf8(value)):
            return f"{NOT_UTF8} (row {number}: {byte} in column {name!r})"
        if mode == "cp1252" and (fixed := _looks_utf8(value)):
            return (f"{LOOKS_UTF8} (row {number}: column {name!r} would be {fixed!r}, while the "
                    "rest of the file is Windows-1252)")  # fmt: skip
    return None


def _unique_names(names: list[str]) -> list[str]:
    """Blank or repeated names made unique by position. Ingest has already refused any that
    the mapping uses; the others are only kept for the quarantine's raw column."""
    seen: Counter[str] = Counter(names)
    out = []
    for position, name in enumerate(names, start=1):
        if not name or seen[name] > 1:
            name = f"{name or 'unnamed'} (column {_column_letter(position)})"
        out.append(name)
    return out


def _check_width(names: list[str], limits: Limits, where: str) -> None:
    if len(names) > limits.max_columns:
        raise ReadError(f"{where}: " + _limit(f"the header has {len(names):,} columns",
                                              limits.max_columns, "ingest_max_columns"))


def _read_csv(path: Path, limits: Limits, check_header: HeaderCheck | None) -> Extract:
    data = path.read_bytes()
    if not data.strip():
        raise ReadError(f"{path.name}: the file is empty")
    decoded = _decode(data, path.name)
    del data
    text = decoded.text
    first_line = text[:65536].split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    # A cell longer than the limit is refused below. The csv module's own limit is global to
    # the process, so it is only ever raised (never lowered under another reader's feet).
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_cell_chars + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    number = 0
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    problems: dict[int, str] = {}
    raw_rows: dict[int, dict[str, str]] = {}
    # Only a file with a NUL byte or a second encoding needs every value looked at.
    check_values = decoded.mode != "utf-8" or "\x00" in text
    try:
        for row in reader:
            number += 1
            if not "".join(row).strip():
                continue  # a blank line, or separators only: no data to account for
            if header is None:
                header = [cell.strip() for cell in row]
                _check_width(header, limits, path.name)
                if check_header is not None:
                    check_header(header)
                width = len(header)
                continue
            if len(rows) >= limits.max_rows:
                raise ReadError(f"{path.name}: " + _limit(
                    f"it has more than {limits.max_rows:,} rows", limits.max_rows, "ingest_max_rows"))
            for cell in row:
                if len(cell) > limits.max_cell_chars:
                    raise ReadError(f"{path.name}: row {number} " + _limit(
                        f"has a value longer than {limits.max_cell_chars:,} characters (an "
                        "unmatched quote mark often does this)", limits.max_cell_chars,
                        "ingest_max_cell_chars"))  # fmt: skip
            if len(row) > width and not any(cell.strip() for cell in row[width:]):
                row = row[:width]  # empty fields after the last column carry nothing
            problem: str | None = None
            if len(row) != width:
                problem = f"{RAGGED} (row {number} has {len(row)} fields; the header has {width})"
            elif check_values:
                problem = _row_problem(row, header, number, decoded.mode)
            if problem:
                problems[len(rows)] = problem
                raw_rows[len(rows)] = {
                    (header[i] if i < width and len(row) == width else f"field {i + 1}"): _as_written(v)
                    for i, v in enumerate(row) if v
                }  # fmt: skip
                rows.append([None] * width)
            else:
                rows.append(row)  # type: ignore[arg-type]
            numbers.append(number)
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            raise ReadError(f"{path.name}: row {number + 1} " + _limit(
                f"has a value longer than {limits.max_cell_chars:,} characters (an unmatched "
                "quote mark often does this)", limits.max_cell_chars, "ingest_max_cell_chars"),
            ) from exc  # fmt: skip
        raise ReadError(f"{path.name}: cannot be read as CSV (row {number + 1}: {message})") from exc
    if header is None:
        raise ReadError(f"{path.name}: the file is empty")
    ragged = sum(1 for p in problems.values() if p.startswith(RAGGED))
    if rows and ragged > MAX_RAGGED_SHARE * len(rows):
        raise ReadError(
            f"{path.name}: {ragged:,} of {len(rows):,} rows have a different number of fields "
            f"from the header ({width}): check the delimiter and the quote marks"
        )
    names = _unique_names(header)
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    return Extract(frame, numbers, problems, raw_rows, decoded.notes)


# --- XLSX ---------------------------------------------------------------------------------


def check_archive(path: Path, limits: Limits) -> None:
    """Refuse an XLSX whose unpacked size or compression ratio is beyond the limits, from the
    archive's directory alone (a zip bomb is caught before any of it is unpacked).

    The sizes in the directory can be trusted as an upper bound: Python's zipfile stops
    reading a member at its declared size and fails on the checksum of a member that lies.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReadError(f"{path.name}: cannot be read as XLSX (it is not a valid workbook)") from exc
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise ReadError(f"{path.name}: the workbook unpacks to {unpacked / 2**20:,.0f} MB; the "
                        f"limit is {limits.max_unpacked_bytes // 2**20:,} MB (setting "
                        "JOINEDUP_INGEST_MAX_UNPACKED_MB)")  # fmt: skip
    # Small archives cannot hurt whatever their ratio (and tiny parts compress very well).
    ratio = unpacked / max(packed, 1)
    if unpacked > 10 * 2**20 and ratio > limits.max_compression_ratio:
        raise ReadError(f"{path.name}: " + _limit(
            f"the workbook unpacks to {ratio:,.0f} times its size, as a zip bomb does",
            limits.max_compression_ratio, "ingest_max_compression_ratio"))  # fmt: skip


def _read_xlsx(path: Path, sheet: str | None, limits: Limits, check_header: HeaderCheck | None) -> Extract:
    check_archive(path, limits)  # before openpyxl is even imported
    from openpyxl import load_workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

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
        # Read-only mode trusts the sheet's stored <dimension>, which some systems leave
        # stale; without this, every row beyond it is silently lost.
        ws.reset_dimensions()
        rows: Iterator[tuple[Any, ...]] = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ReadError(f"{path.name}: the sheet {ws.title!r} is empty")
        names = [None if h is None else str(h).strip() for h in header]
        while names and not names[-1]:
            names.pop()
        _check_width([str(n) for n in names], limits, path.name)
        for position, value in enumerate(names, start=1):
            if not value:
                raise ReadError(
                    f"{path.name}: header cell {_column_letter(position)}1 is blank; merged "
                    "or multi-row header cells cannot be read, so give every column one name "
                    "in the first row"
                )
        header_names = [str(n) for n in names]
        if check_header is not None:
            check_header(header_names)
        body, numbers = _xlsx_body(rows, len(header_names), limits, path.name)
        date1904 = book.epoch == CALENDAR_MAC_1904
    finally:
        book.close()
    frame = pd.DataFrame(body, columns=_unique_names(header_names), dtype=object)
    return Extract(frame, numbers, date1904=date1904)


def _xlsx_body(
    rows: Iterable[tuple[Any, ...]], width: int, limits: Limits, name: str
) -> tuple[list[list[str | None]], list[int]]:
    body: list[list[str | None]] = []
    numbers: list[int] = []
    for number, row in enumerate(rows, start=2):
        if number > XLSX_MAX_ROWS:
            raise ReadError(f"{name}: the sheet has more rows than a workbook can hold")
        cells = [_cell_text(v) for v in row[:width]]
        if not any(c is not None and c.strip() for c in cells):
            continue
        if len(body) >= limits.max_rows:
            raise ReadError(f"{name}: " + _limit(
                f"it has more than {limits.max_rows:,} rows", limits.max_rows, "ingest_max_rows"))
        for cell in cells:
            if cell is not None and len(cell) > limits.max_cell_chars:
                raise ReadError(f"{name}: row {number} " + _limit(
                    f"has a value longer than {limits.max_cell_chars:,} characters",
                    limits.max_cell_chars, "ingest_max_cell_chars"))  # fmt: skip
        body.append(cells + [None] * (width - len(cells)))
        numbers.append(number)
    return body, numbers


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


# --- Parquet ------------------------------------------------------------------------------


def _read_parquet(path: Path, limits: Limits, check_header: HeaderCheck | None) -> Extract:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise ReadError(f"{path.name}: cannot be read as Parquet ({exc})") from exc
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    _check_width(names, limits, path.name)
    if meta.num_rows > limits.max_rows:
        raise ReadError(f"{path.name}: " + _limit(
            f"it has {meta.num_rows:,} rows", limits.max_rows, "ingest_max_rows"))
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if unpacked > limits.max_unpacked_bytes:
        raise ReadError(f"{path.name}: the file unpacks to {unpacked / 2**20:,.0f} MB; the "
                        f"limit is {limits.max_unpacked_bytes // 2**20:,} MB (setting "
                        "JOINEDUP_INGEST_MAX_UNPACKED_MB)")  # fmt: skip
    if check_header is not None:
        check_header([str(n).strip() for n in names])
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise ReadError(f"{path.name}: cannot be read as Parquet ({exc})") from exc
    frame = table.to_pandas()
    frame.columns = _unique_names([str(c).strip() for c in names])
    for column in frame.columns:
        frame[column] = frame[column].map(_cell_text, na_action="ignore")
    return Extract(frame, list(range(2, len(frame) + 2)))


def read_extract(
    path: Path,
    sheet: str | None = None,
    *,
    limits: Limits | None = None,
    check_header: HeaderCheck | None = None,
) -> Extract:
    """Read an extract; raise ReadError with a one-line message if it cannot be read.

    ``check_header`` gets the header's names before any data row is read, and may raise.
    """
    limits = limits or Limits()
    if not path.is_file():
        raise ReadError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        extract = _read_xlsx(path, sheet, limits, check_header)
    elif suffix in {".parquet", ".pq"}:
        extract = _read_parquet(path, limits, check_header)
    elif suffix in {".csv", ".txt", ".tsv"}:
        extract = _read_csv(path, limits, check_header)
    else:
        raise ReadError(f"{path.name}: unsupported file type {suffix!r} (use CSV, XLSX or Parquet)")
    if len(extract.frame) == 0:
        raise ReadError(f"{path.name}: the file has a header but no rows")
    return extract
