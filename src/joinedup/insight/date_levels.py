"""The date of birth's levels that the household birthday correction mirrors: each a label
and the condition on a pair, in the model's order, shared by the date of birth comparison
(``model._date_of_birth``) and the correction (``household_comparisons``), so that the
correction applies to exactly the pairs of the level it corrects.

A date of birth is ISO text (YYYY-MM-DD), so the same substr arithmetic works on DuckDB and
Spark.
"""

from __future__ import annotations

import splink.comparison_level_library as cll
from splink.internals.comparison_level_creator import ComparisonLevelCreator

__all__ = [
    "DAY_APART", "DAY_APART_SQL", "EXACT", "HELD_AS_1_JANUARY_SQL", "NEAR", "ONE_DIGIT",
    "SAME_DAY_AND_MONTH", "SAME_DAY_AND_MONTH_SQL", "TRANSPOSED", "TRANSPOSED_SQL", "YEAR_APART",
    "YEAR_APART_SQL", "condition",
]  # fmt: skip

EXACT = "Exact match on dob"
DAY_APART = "Born a day apart"
TRANSPOSED = "Day and month transposed"
ONE_DIGIT = "One digit wrong or two swapped"
SAME_DAY_AND_MONTH = "Same day and month"
YEAR_APART = "Same month, the years one apart"
# The levels below the exact one that the household correction mirrors, in the model's order.
NEAR = (DAY_APART, TRANSPOSED, ONE_DIGIT, SAME_DAY_AND_MONTH)

# A day out (the 21st for the 22nd, a birth either side of midnight): on the 1M synthetic
# place 3.3% of a person's pairs of records and 0.008% of strangers' pairs, where the rest of
# "one digit wrong" is 4.5% and 0.12%. Within one month, so that it is plain substr
# arithmetic on both backends and cheap on every pair; the 31st against the 1st falls below.
DAY_APART_SQL = (
    "substr(dob_l, 1, 7) = substr(dob_r, 1, 7)"
    " AND abs(CAST(substr(dob_l, 9, 2) AS INTEGER) - CAST(substr(dob_r, 9, 2) AS INTEGER)) = 1"
)
TRANSPOSED_SQL = (
    "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2)"
    " AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)"
)
HELD_AS_1_JANUARY_SQL = (
    "substr(dob_l, 1, 4) = substr(dob_r, 1, 4)"
    " AND (substr(dob_l, 6, 5) = '01-01' OR substr(dob_r, 6, 5) = '01-01')"
)
SAME_DAY_AND_MONTH_SQL = "substr(dob_l, 6, 5) = substr(dob_r, 6, 5)"
# A year mistyped by one and the day not copied exactly (or an age turned into a date): the
# same month, the years one apart. Without it such a pair falls to the last level, whose
# weight is that of two people born years apart.
YEAR_APART_SQL = (
    "substr(dob_l, 6, 2) = substr(dob_r, 6, 2)"
    " AND abs(CAST(substr(dob_l, 1, 4) AS INTEGER) - CAST(substr(dob_r, 1, 4) AS INTEGER)) = 1"
)


def condition(label: str) -> ComparisonLevelCreator:
    """The level ``label`` of the date of birth comparison, labelled so."""
    if label == EXACT:
        return cll.ExactMatchLevel("dob").configure(label_for_charts=EXACT)
    if label == DAY_APART:
        return cll.CustomLevel(DAY_APART_SQL, label_for_charts=DAY_APART)
    if label == TRANSPOSED:
        return cll.CustomLevel(TRANSPOSED_SQL, label_for_charts=TRANSPOSED)
    if label == ONE_DIGIT:
        return cll.DamerauLevenshteinLevel("dob", 1).configure(label_for_charts=ONE_DIGIT)
    if label == SAME_DAY_AND_MONTH:
        return cll.CustomLevel(SAME_DAY_AND_MONTH_SQL, label_for_charts=SAME_DAY_AND_MONTH)
    if label == YEAR_APART:
        return cll.CustomLevel(YEAR_APART_SQL, label_for_charts=YEAR_APART)
    raise ValueError(label)
