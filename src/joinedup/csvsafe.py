"""CSV that a spreadsheet opens as data, never as formulas ("CSV injection", OWASP).

Every CSV the product writes for people to open goes through this module (a test fails if
any other module writes CSV). A partner, a cohort or a record id named ``=HYPERLINK(...)``
would otherwise run as a formula in Excel, LibreOffice or Google Sheets when the file is
opened.

The rule, as OWASP advises:

- A text cell whose first character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is written with a single quote in front (``'=HYPERLINK(...)``): spreadsheets show
  it as text. The full-width forms (＝ ＋ － ＠) and the same characters after leading
  spaces are treated alike, since some programs fold or trim them on import.
- Every text cell of a data row is quoted (``"..."``, inner quotes doubled), so that no
  value can spill into the next cell.
- Numbers stay numbers. A numeric value (int, float, Decimal, a NumPy number) is written
  as it is and not quoted, so a negative figure is still a figure. Text that is exactly a
  decimal number with an optional minus sign (``-3``, ``-0.25``) is not a formula either and
  is left as it is. Anything else that starts with a sign (``+1``, ``-2+3``) is neutralised.
- Header rows hold the product's own column names: neutralised all the same, but quoted only
  where the CSV format needs it, so that the first line stays readable.

Blank values (None, NaN, NaT) are written as empty cells. The engine imports this module, so
it never imports the web layer, and pandas only when a DataFrame is written.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TRIGGERS",
    "SafeWriter",
    "frame_to_csv",
    "is_formula",
    "neutralise",
    "rows_to_csv",
    "write_frame",
]

# OWASP's list, with the full-width forms of the four signs.
TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could read this text as a formula (see the module's rule)."""
    stripped = text.lstrip(" \n")
    if _PLAIN_NUMBER.fullmatch(stripped):
        return False
    return text[:1] in TRIGGERS or stripped[:1] in TRIGGERS


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, complex)


def _is_blank(value: object) -> bool:
    # pandas' NaT and NA are recognised by name, so that pandas is not imported here.
    if value is None or type(value).__name__ in {"NaTType", "NAType"}:
        return True
    if _is_number(value):
        try:
            return math.isnan(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return False
    return False


def neutralise(value: object) -> object:
    """The cell to write: numbers as they are, blanks empty, text made safe."""
    if _is_blank(value):
        return ""
    if _is_number(value):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if is_formula(text) else text


class SafeWriter:
    """A csv.writer for data rows (text quoted, numbers bare) and one for the header."""

    def __init__(self, stream: TextIO) -> None:
        self._header = csv.writer(stream, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        self._rows = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")

    def writeheader(self, names: Iterable[object]) -> None:
        self._header.writerow([neutralise(n) for n in names])

    def writerow(self, row: Iterable[object]) -> None:
        self._rows.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def rows_to_csv(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writeheader(header)
    writer.writerows(rows)
    return out.getvalue()


def frame_to_csv(frame: pd.DataFrame) -> str:
    """A DataFrame as safe CSV text (no index)."""
    return rows_to_csv(frame.columns, frame.itertuples(index=False, name=None))


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    """A DataFrame as a safe UTF-8 CSV file (no index)."""
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = SafeWriter(handle)
        writer.writeheader(frame.columns)
        writer.writerows(frame.itertuples(index=False, name=None))
