"""Fixed periods for figures that leave the analyst role: financial years (April to March).

Demand and cost can only be published for whole financial years, never for a range a viewer
chooses: two overlapping ranges subtracted would give the figures of the days between them,
and a cell hidden for one month would come back as the difference of two longer ones. The
financial years do not overlap, and no figure across several years is published beside
them, so no difference of published periods is itself a period. The one shorter period is a
year's financial quarters, controlled together with their year (:mod:`joinedup.insight.quarterly`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb

from joinedup.insight.store import one

__all__ = ["FinancialYear", "PeriodError", "available_years", "parse_year"]

_LABEL = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A period that is not one of the fixed financial years."""


@dataclass(frozen=True, order=True)
class FinancialYear:
    first: int  # the calendar year in which it starts (2024 for 2024-25)

    @property
    def label(self) -> str:
        return f"{self.first}-{(self.first + 1) % 100:02d}"

    @property
    def start(self) -> date:
        return date(self.first, 4, 1)

    @property
    def end(self) -> date:
        return date(self.first + 1, 3, 31)

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        return cls(day.year if day.month >= 4 else day.year - 1)


def parse_year(label: str) -> FinancialYear:
    match = _LABEL.match(label.strip())
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise PeriodError(f"{label!r} is not a financial year; write it like 2024-25")
    return FinancialYear(int(match.group(1)))


def available_years(con: duckdb.DuckDBPyConnection) -> list[FinancialYear]:
    """The financial years with events, newest first."""
    row = one(con.execute("SELECT min(event_date), max(event_date) FROM records"))
    if not row or row[0] is None:
        return []
    first, last = FinancialYear.containing(row[0]), FinancialYear.containing(row[1])
    return [FinancialYear(y) for y in range(last.first, first.first - 1, -1)]
