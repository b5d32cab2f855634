"""How the dates in a column are written, decided from the values (for suggested mappings).

ISO dates, eight digits (%Y%m%d), Excel day numbers, year-first, months as words, and
day/month/year or month/day/year. For the last two, a first part above 12 is a day (day
first), a second part above 12 is a day (month first); when no value decides it the
analyst is asked: the order is never guessed.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from joinedup.insight import normalise as nz

__all__ = ["VALUE_SHARE", "DateReading", "date_reading"]

# A column whose non-blank values pass a field's check this often is that field.
VALUE_SHARE = 0.7

@dataclass(frozen=True)
class DateReading:
    """How a column's dates are written. ``format`` is None for ISO dates and Excel day
    numbers (ingest reads both without one). Dates written day/month/year or month/day/year
    have ``day_first`` and ``month_first``, the two formats; when the values cannot tell
    them apart, ``ask`` is True and the analyst chooses."""

    format: str | None
    share: float
    how: str
    ask: bool = False
    day_first: str | None = None
    month_first: str | None = None
    dates: tuple[date, ...] = ()


_DMY = re.compile(r"^(\d{1,2})([/.\- ])(\d{1,2})\2(\d{4}|\d{2})$")
_YMD = re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})$")
_WORDY = ("%d %b %Y", "%d-%b-%Y", "%d %B %Y", "%d-%b-%y", "%d %b %y", "%b %d %Y", "%d/%b/%Y")


def _parse_all(values: Sequence[str], fmt: str) -> list[date]:
    out = []
    for v in values:
        with contextlib.suppress(ValueError):
            out.append(datetime.strptime(v, fmt).date())
    return out


def date_reading(values: Sequence[str]) -> DateReading | None:
    """Decide whether text values are dates, and in which format; None if they are not."""
    if not values:
        return None
    n = len(values)
    iso = [v for v in values if re.match(r"^\d{4}-\d{2}-\d{2}", v)]
    if len(iso) / n >= VALUE_SHARE:
        parsed = [d for d in (nz.normalise_date(v) if _safe_date(v) else None for v in iso) if d]
        if len(parsed) / n >= VALUE_SHARE:
            return DateReading(None, len(parsed) / n, "written as ISO dates (2024-03-31)",
                               dates=tuple(parsed))  # fmt: skip
    compact = [v for v in values if re.fullmatch(r"\d{8}", v)]
    if len(compact) / n >= VALUE_SHARE:
        for fmt, how in (("%Y%m%d", "year, month, day"), ("%d%m%Y", "day, month, year")):
            parsed = _parse_all(compact, fmt)
            if len(parsed) / n >= VALUE_SHARE:
                return DateReading(fmt, len(parsed) / n, f"eight digits: {how} ({fmt})",
                                   dates=tuple(parsed))  # fmt: skip
    serials = [s for s in (nz.excel_serial_date(v) for v in values) if s]
    if len(serials) / n >= VALUE_SHARE:
        return DateReading(None, len(serials) / n,
                           "whole numbers that are Excel day numbers (ingest reads them as dates)",
                           dates=tuple(serials))  # fmt: skip
    ymd = [m for m in (_YMD.match(v) for v in values) if m]
    if len(ymd) / n >= VALUE_SHARE:
        fmt = f"%Y{ymd[0].group(2)}%m{ymd[0].group(2)}%d"
        parsed = _parse_all(values, fmt)
        if len(parsed) / n >= VALUE_SHARE:
            return DateReading(fmt, len(parsed) / n, f"year first ({fmt})", dates=tuple(parsed))
    dmy = [m for m in (_DMY.match(v) for v in values) if m]
    if len(dmy) / n >= VALUE_SHARE:
        return _day_or_month(values, dmy)
    for fmt in _WORDY:
        parsed = _parse_all(values, fmt)
        if len(parsed) / n >= VALUE_SHARE:
            return DateReading(fmt, len(parsed) / n, f"with the month as a word ({fmt})",
                               dates=tuple(parsed))  # fmt: skip
    return None


def _safe_date(value: str) -> bool:
    try:
        nz.normalise_date(value)
    except nz.InvalidValue:
        return False
    return True


def _day_or_month(values: Sequence[str], matches: list[re.Match[str]]) -> DateReading | None:
    """Day-first or month-first, decided by the values: a first part above 12 is a day, a
    second part above 12 is a day. If neither occurs, the analyst is asked."""
    sep = Counter(m.group(2) for m in matches).most_common(1)[0][0]
    year = "%Y" if sum(len(m.group(4)) == 4 for m in matches) >= len(matches) / 2 else "%y"
    day_first, month_first = f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"
    big_first = [m.group(0) for m in matches if int(m.group(1)) > 12]
    big_second = [m.group(0) for m in matches if int(m.group(3)) > 12]
    n = len(values)
    if big_first and not big_second:
        parsed = _parse_all(values, day_first)
        return DateReading(day_first, len(parsed) / n,
                           f"day first: {big_first[0]!r} has a first part above 12, so it is a day "
                           f"({day_first})", day_first=day_first, month_first=month_first,
                           dates=tuple(parsed))  # fmt: skip
    if big_second and not big_first:
        parsed = _parse_all(values, month_first)
        return DateReading(month_first, len(parsed) / n,
                           f"month first: {big_second[0]!r} has a second part above 12, so it is "
                           f"a day ({month_first})", day_first=day_first, month_first=month_first,
                           dates=tuple(parsed))  # fmt: skip
    if big_first and big_second:
        # Both ways in one column: the majority reading is offered, but the analyst decides.
        parsed = _parse_all(values, day_first)
        return DateReading(None, len(parsed) / n,
                           f"written both ways: {big_first[0]!r} is day first but "
                           f"{big_second[0]!r} is month first; choose which the partner meant",
                           ask=True, day_first=day_first, month_first=month_first,
                           dates=tuple(parsed))  # fmt: skip
    parsed = _parse_all(values, day_first)
    return DateReading(None, len(parsed) / n,
                       "every day and month is 12 or less, so the values cannot say whether "
                       "they are day first or month first: choose", ask=True,
                       day_first=day_first, month_first=month_first, dates=tuple(parsed))  # fmt: skip
