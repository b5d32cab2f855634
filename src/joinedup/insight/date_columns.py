"""A date column of an extract read with its mapping: the mapping's format, ISO 8601 or Excel
day numbers, and a column mixing day-first and month-first dates found and its ambiguous
values set aside.

date_formats.py guesses a column's format for a suggested mapping; this module reads a
column with the format the mapping gives, at ingest.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from joinedup.insight import normalise as nz
from joinedup.insight.column_normalise import map_fast, map_unique
from joinedup.insight.ingest_report import IngestError, IngestReport
from joinedup.insight.mapping import ColumnSpec, Mapping
from joinedup.insight.readers import Extract

__all__ = ["MAX_BAD_DATE_SHARE", "read_dates"]

# Above this share of unparseable dates, the mapping's format is wrong for the column.
MAX_BAD_DATE_SHARE = 0.5


def read_dates(
    series: pd.Series,
    spec: ColumnSpec,
    mapping: Mapping,
    extract: Extract,
    report: IngestReport,
    row_numbers: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """A date column's values and problems: the mapping's format, ISO 8601 or Excel day
    numbers; a column mixing day-first and month-first dates has its ambiguous values set
    aside, with a note in the report."""
    date_field, fmt = spec.field, spec.format

    def parse(value: object) -> object:
        return nz.normalise_date(value, fmt, date1904=extract.date1904)

    values, problems = map_unique(series, parse, date_field)
    present = map_fast(series, lambda v: not nz.is_blank(v)).eq(True)
    bad = problems.notna() & present
    if present.sum() and bad.sum() / present.sum() > MAX_BAD_DATE_SHARE:
        example_row = int(row_numbers[bad].iloc[0])
        expected = f"the format {fmt!r}" if fmt else "ISO 8601 (give a format)"
        raise IngestError(
            f"{mapping.where(spec)}: {date_field} column {spec.column!r} does not match "
            f"{expected}: {int(bad.sum()):,} of {int(present.sum()):,} values fail, "
            f"e.g. {series[bad].iloc[0]!r} in row {example_row}"
        )
    # Only a column with values that fail the format but read with day and month swapped
    # can be a mix; looking for one costs nothing on a clean column.
    swapped = nz.swapped_format(fmt) if fmt else None
    mix = None
    if swapped and any(_matches(v, swapped) for v in series[bad].unique()):
        mix = nz.day_month_mix(series.dropna().unique(), fmt)
    if mix is not None and fmt is not None:
        day_first = fmt.index("%d") < fmt.index("%m")
        other = "month-first" if day_first else "day-first"
        example = next(iter(sorted(mix.other_way)))
        evidence = f"{mix.as_format!r} and {example!r}" if mix.as_format else f"{example!r}"
        reasons: dict[object, str] = {
            text: f"{date_field}: {text!r} could be {a.day} {a:%B %Y} or {b.day} {b:%B %Y}: "
            f"column {spec.column!r} has dates written both day-first and month-first "
            f"(e.g. {evidence})"
            for text, (a, b) in mix.ambiguous.items()
        }
        reasons.update({
            text: f"{date_field}: {text!r} is written {other}, unlike the format {fmt}"
            for text in mix.other_way
        })  # fmt: skip
        cleaned = map_fast(series, nz.clean_text)
        hit = cleaned.isin(list(reasons))
        values = values.where(~hit, None)
        problems = problems.where(~hit, cleaned.map(reasons))
        report.notes.append(
            f"{date_field} column {spec.column!r} has dates written both day-first and "
            f"month-first (e.g. {evidence}): {int(cleaned.isin(list(mix.ambiguous)).sum()):,} "
            f"values that could be either, and {int(cleaned.isin(list(mix.other_way)).sum()):,} "
            f"written {other}, were set aside"
        )
    # Whole numbers read as dates were Excel day numbers, unless the format itself is made of
    # digits only (%Y%m%d) and read them.
    serials = [v for v in series.dropna().unique()
               if _may_be_number(v) and _is_number(v) and not (fmt and _matches(v, fmt))]  # fmt: skip
    read_serial = series.isin(serials) & values.notna() if serials else pd.Series(False, index=series.index)
    if read_serial.any():
        first = int(read_serial.to_numpy().argmax())
        report.notes.append(
            f"{date_field} column {spec.column!r}: {int(read_serial.sum()):,} values were Excel "
            f"day numbers and were read as dates (e.g. {series.iloc[first]!r} in row "
            f"{int(row_numbers.iloc[first])} is {values.iloc[first]})"
        )
    return values, problems


def _may_be_number(value: object) -> bool:
    """False for text with a / or - in it, which _is_number would refuse: checked first, as
    most of a date column is such text and _is_number is many times slower."""
    return not isinstance(value, str) or ("/" not in value and "-" not in value)


def _is_number(value: object) -> bool:
    text = nz.clean_text(value)
    return text is not None and text.replace(".", "", 1).isdigit()


def _matches(value: object, fmt: str) -> bool:
    text = nz.clean_text(value)
    if text is None:
        return False
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True
