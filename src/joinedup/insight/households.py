"""Households: linked persons who share an address in the same financial year.

"Think Family" work asks how many of the people partners share live together. A person's
address in a financial year is the one on their latest record with an address in that year:
the UPRN where the partner recorded one, otherwise the postcode with the first line of the
address (a postcode alone is about fifteen homes, so it never makes a household on its own).
Persons at one address that year form a household.

Households are counted by their number of linked persons (1, 2, 3, 4 or more) with the
total and "two or more" as lines over those cells, controlled as one family like every
other figure that leaves the analyst role; only whole financial years are published.

What a "Think Family" lead asks next is which of those households several services know:
households of two or more linked persons whom three or more services know *between them*
that year (one member known to housing, another to the police and a third to mental health
is exactly the family such work looks for; that each of two members should be known to three
services is too rare to plan on). So each size of two or more is split into "three or more
services" and "fewer", and the Think Family count is a line over the first halves, in the
same family: "two or more" minus it would otherwise give the households that fewer services
know (tests/insight/test_households_attacks.py). No persons figure is a sum of these cells
(persons without an address that year are in every persons count and in no household), so
the family needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import Line, control_family
from joinedup.insight.periods import FinancialYear

__all__ = [
    "SIZE_BANDS", "HouseholdCounts", "HouseholdFigures", "household_counts", "household_figures",
    "household_of", "household_sizes", "households_sql",
]  # fmt: skip

SIZE_BANDS: tuple[str, ...] = ("1 person", "2 persons", "3 persons", "4 or more persons")

# One address key per person in the year: UPRN first, else postcode + first address line with
# punctuation and repeated spaces removed (partners write "12, High St." and "12 HIGH ST").
members_sql = """
WITH addressed AS (
    SELECT l.person_id, r.event_date,
           CASE WHEN r.uprn IS NOT NULL THEN 'uprn:' || r.uprn
                WHEN r.postcode IS NOT NULL AND r.address_line IS NOT NULL THEN
                    'addr:' || replace(upper(r.postcode), ' ', '') || '|' ||
                    trim(regexp_replace(regexp_replace(upper(r.address_line), '[^A-Z0-9 ]', ' ', 'g'),
                                        ' +', ' ', 'g'))
           END AS address_key
    FROM records r JOIN person_links l USING (source, record_id)
    WHERE r.event_date BETWEEN ? AND ?
),
latest AS (
    SELECT person_id, arg_max(address_key, event_date) AS address_key
    FROM addressed WHERE address_key IS NOT NULL GROUP BY person_id
)
SELECT person_id, address_key FROM latest
"""
households_sql = f"SELECT address_key, count(*) AS persons FROM ({members_sql}) GROUP BY address_key"  # noqa: S608


# Households with each person's address key and how many services know the household's
# members between them that year (distinct sources, as "known to" counts services elsewhere).
_household_services_sql = f"""
WITH members AS ({members_sql})
SELECT m.address_key, count(DISTINCT m.person_id) AS persons, count(DISTINCT r.source) AS services
FROM members m
JOIN person_links l ON l.person_id = m.person_id
JOIN records r ON r.source = l.source AND r.record_id = l.record_id
WHERE r.event_date BETWEEN ? AND ?
GROUP BY m.address_key
"""  # noqa: S608  (only this module's own SQL is put together)

# The family's cells: one person, then each size of two or more split by services known.
CELL_NAMES: tuple[str, ...] = (
    "1 person",
    "2 persons, fewer than 3 services", "2 persons, 3 or more services",
    "3 persons, fewer than 3 services", "3 persons, 3 or more services",
    "4 or more persons, fewer than 3 services", "4 or more persons, 3 or more services",
)  # fmt: skip
# Published lines over those cells: each size, the total, two or more, Think Family.
LINES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("2 persons", (1, 2)), ("3 persons", (3, 4)), ("4 or more persons", (5, 6)),
    ("total", tuple(range(7))), ("two or more", (1, 2, 3, 4, 5, 6)), ("think family", (2, 4, 6)),
)  # fmt: skip


@dataclass(frozen=True)
class HouseholdCounts:
    """A year's households, unrounded (analysts only)."""

    cells: list[int]  # in CELL_NAMES order

    def line(self, name: str) -> int:
        return sum(self.cells[i] for i in dict(LINES)[name])

    @property
    def total(self) -> int:
        return self.line("total")

    @property
    def two_or_more(self) -> int:
        return self.line("two or more")

    @property
    def known_to_three_or_more(self) -> int:
        return self.line("think family")

    def by_size(self) -> list[tuple[str, int, int | None]]:
        """(size, households, of which three or more services know) per size band."""
        return [(SIZE_BANDS[0], self.cells[0], None)] + [
            (band, self.line(band), self.cells[dict(LINES)[band][1]]) for band in SIZE_BANDS[1:]
        ]


def household_counts(con: duckdb.DuckDBPyConnection, year: FinancialYear) -> HouseholdCounts:
    rows = con.execute(_household_services_sql, [year.start, year.end] * 2).fetchall()
    cells = [0] * len(CELL_NAMES)
    for _key, persons, services in rows:
        size = min(int(persons), 4)
        cells[0 if size == 1 else 2 * size - 3 + (services >= 3)] += 1
    return HouseholdCounts(cells)


@dataclass
class HouseholdFigures:
    year: str
    sizes: pd.DataFrame  # size band, households (controlled; a Total row last)
    two_or_more: int | None  # households of two or more linked persons (controlled)
    known_to_three_or_more: int | None  # of those, three or more services know (Think Family)
    cells: list[int | None]  # the family's cells as published, in CELL_NAMES order
    cell_names: tuple[str, ...] = CELL_NAMES
    # Each published line: the names of its cells and its published total.
    lines: list[tuple[list[str], int | None]] = field(default_factory=list)

    def by_size(self) -> list[tuple[str, int | None, int | None, bool]]:
        """(size, households, of which three or more services know, whether split) per band."""
        totals = dict(zip(self.sizes["size"], self.sizes["households"], strict=True))
        return [(SIZE_BANDS[0], totals[SIZE_BANDS[0]], None, False)] + [
            (band, totals[band], self.cells[2 * i + 2], True) for i, band in enumerate(SIZE_BANDS[1:])
        ]


def household_sizes(con: duckdb.DuckDBPyConnection, year: FinancialYear) -> pd.DataFrame:
    """Households by size band in a financial year, unrounded (analyst only)."""
    counts = household_counts(con, year)
    return pd.DataFrame({"size": list(SIZE_BANDS), "households": [n for _b, n, _t in counts.by_size()]})


def household_figures(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, year: FinancialYear
) -> HouseholdFigures:
    """Households by size in a year, with their total, 'two or more' and the Think Family
    count, controlled as one family."""
    raw = household_counts(con, year)
    lines = [Line(cells, name) for name, cells in LINES]
    family = control_family(raw.cells, lines, ctx.rule)
    total = dict(zip((name for name, _c in LINES), family.totals, strict=True))
    shown = pd.Series([family.cells[0], total["2 persons"], total["3 persons"],
                       total["4 or more persons"], total["total"]], dtype=object)  # fmt: skip
    sizes = pd.DataFrame({"size": [*SIZE_BANDS, "Total"], "households": shown})
    return HouseholdFigures(
        year=year.label, sizes=sizes, two_or_more=total["two or more"],
        known_to_three_or_more=total["think family"], cells=list(family.cells),
        lines=[([CELL_NAMES[i] for i in cells], family.totals[k]) for k, (_n, cells) in enumerate(LINES)],
    )  # fmt: skip


def household_of(con: duckdb.DuckDBPyConnection, person_id: str, year: FinancialYear) -> list[str]:
    """The other linked persons living with a person in a year (person-level: analysts only)."""
    rows = con.execute(
        f"WITH members AS ({members_sql}) "  # noqa: S608
        "SELECT person_id FROM members WHERE address_key = "
        "(SELECT address_key FROM members WHERE person_id = ?) AND person_id <> ? ORDER BY 1",
        [year.start, year.end, person_id, person_id],
    ).fetchall()
    return [r[0] for r in rows]
