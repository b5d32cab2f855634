"""The surname comparison: exact (term-frequency adjusted), a known change of name, typos,
swapped names, and a different surname weighed apart for women.

Kept out of ``model`` as the date of birth's levels are (``date_levels``): the two levels
that read other columns (a previous surname, sex) are there only where some source holds
those columns, and each says why it is there.
"""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from joinedup.insight.household_comparisons import SURNAME_EXACT_LEVEL

__all__ = ["PREVIOUS_SURNAME_LEVEL", "WOMANS_OTHER_SURNAME_LEVEL", "surname"]


# One record's surname is the other's previous surname: a marriage, or another change of name,
# between the two records. Only across the pair: two records with the same previous surname
# and different surnames now are as likely two sisters as one woman.
PREVIOUS_SURNAME_LEVEL = "One record's surname is the other's previous surname"
PREVIOUS_SURNAME_SQL = "(previous_surname_l = surname_r OR surname_l = previous_surname_r)"


# Different surnames where either record is a woman's: in the UK most women who marry take
# their husband's surname and few men change theirs, so a woman's records disagree on surname
# far more often than a man's, and a single "else" level charged both the same penalty. EM
# learns the two apart. Either record, not both: many extracts hold no sex (housing, DWP).
WOMANS_OTHER_SURNAME_LEVEL = "Different surnames, a woman's record"


def _womans_other_surname(present: frozenset[str]) -> list[ComparisonLevelCreator]:
    if "sex" not in present:
        return []
    return [cll.CustomLevel("(sex_l = 'F' OR sex_r = 'F')", label_for_charts=WOMANS_OTHER_SURNAME_LEVEL)]


def surname(present: frozenset[str]) -> ComparisonCreator:
    """The surname comparison for a place whose sources hold the fields ``present``."""
    levels: list[ComparisonLevelCreator] = [
        cll.NullLevel("surname"),
        cll.ExactMatchLevel("surname").configure(
            tf_adjustment_column="surname", label_for_charts=SURNAME_EXACT_LEVEL
        ),
    ]
    if "previous_surname" in present:
        levels.append(cll.CustomLevel(PREVIOUS_SURNAME_SQL, label_for_charts=PREVIOUS_SURNAME_LEVEL))
    return cl.CustomComparison(
        output_column_name="surname",
        comparison_levels=[
            *levels,
            cll.JaroWinklerLevel("surname", 0.92),
            cll.ColumnsReversedLevel("surname", "forename").configure(
                label_for_charts="Forename and surname swapped"
            ),
            cll.JaroWinklerLevel("surname", 0.8),
            *_womans_other_surname(present),
            cll.ElseLevel(),
        ],
        comparison_description="surname",
    )
