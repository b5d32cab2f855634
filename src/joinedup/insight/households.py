"""Households: linked persons who share an address in the same financial year.

"Think Family" work asks how many of the people partners share live together. A person's
address in a financial year is the one on their latest record with an address in that year:
the UPRN where the partner recorded one, otherwise the postcode with the first line of the
address (a postcode alone is about fifteen homes, so it never makes a household on its own).
Persons at one address that year form a household.

Households are counted by their number of linked persons (1, 2, 3, 4 or more) with the
total and "two or more" as lines over those cells, controlled as one family like every
other figure that leaves the analyst role; only whole financial years are published.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import Line, control_family
from joinedup.insight.periods import FinancialYear

__all__ = ["SIZE_BANDS", "HouseholdFigures", "household_figures", "household_sizes", "households_sql"]

SIZE_BANDS: tuple[str, ...] = ("1 person", "2 persons", "3 persons", "4 or more persons")

# One address key per person in the year: UPRN first, else postcode + first address line with
# punctuation and repeated spaces removed (partners write "12, High St." and "12 HIGH ST").
households_sql = """
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
SELECT address_key, count(*) AS persons FROM latest GROUP BY address_key
"""


@dataclass
class HouseholdFigures:
    year: str
    sizes: pd.DataFrame  # size band, households (controlled; a Total row last)
    two_or_more: int | None  # households of two or more linked persons (controlled)


def household_sizes(con: duckdb.DuckDBPyConnection, year: FinancialYear) -> pd.DataFrame:
    """Households by size band in a financial year, unrounded (analyst only)."""
    frame = con.execute(households_sql, [year.start, year.end]).df()
    counts = frame["persons"].clip(upper=4).map(lambda n: SIZE_BANDS[int(n) - 1]).value_counts()
    return pd.DataFrame({"size": list(SIZE_BANDS), "households": [int(counts.get(b, 0)) for b in SIZE_BANDS]})


def household_figures(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, year: FinancialYear
) -> HouseholdFigures:
    """Households by size in a year, with their total and 'two or more', controlled as one."""
    raw = household_sizes(con, year)
    cells = raw["households"].tolist()
    lines = [Line(tuple(range(len(cells))), "total"), Line((1, 2, 3), "two or more")]
    family = control_family(cells, lines, ctx.rule)
    shown = pd.Series([*family.cells, family.totals[0]], dtype=object)
    sizes = pd.DataFrame({"size": [*SIZE_BANDS, "Total"], "households": shown})
    return HouseholdFigures(year=year.label, sizes=sizes, two_or_more=family.totals[1])
