"""The surname comparison: exact (term-frequency adjusted), a known change of name, typos,
swapped names, and a different surname weighed apart for women, by how her postcodes compare.

Kept out of ``model`` as the date of birth's levels are (``date_levels``): the two levels
that read other columns (a previous surname, sex) are there only where some source holds
those columns, and each says why it is there.
"""

from __future__ import annotations

from collections.abc import Callable

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.dialects import SplinkDialect

from joinedup.insight import name_swaps
from joinedup.insight.household_comparisons import SURNAME_EXACT_LEVEL

__all__ = [
    "POSTCODE_LEVELS_GIVEN",
    "PREVIOUS_SURNAME_LEVEL",
    "WOMANS_OTHER_SURNAME_LEVEL",
    "WOMANS_POSTCODE_LEVELS",
    "surname",
]


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


WOMAN_SQL = "(sex_l = 'F' OR sex_r = 'F')"


def _womans_other_surname(present: frozenset[str]) -> list[ComparisonLevelCreator]:
    if "sex" not in present:
        return []
    levels: list[ComparisonLevelCreator] = []
    if "postcode" in present:
        same, district, other = WOMANS_POSTCODE_LEVELS
        levels = [
            _DialectLevel(lambda d: f"{WOMAN_SQL} AND {_postcode_sql('same', d)}", same),
            _DialectLevel(lambda d: f"{WOMAN_SQL} AND {_postcode_sql('district', d)}", district),
            _DialectLevel(lambda d: f"{WOMAN_SQL} AND {_postcode_sql('other', d)}", other),
        ]
    # Either postcode missing (or no postcode held): the chance of a woman's different surname.
    return [*levels, cll.CustomLevel(WOMAN_SQL, label_for_charts=WOMANS_OTHER_SURNAME_LEVEL)]


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
            name_swaps.swap_weighed_with_the_forename(),  # a swap counts once, with the forename
            cll.ColumnsReversedLevel("surname", "forename").configure(
                label_for_charts=name_swaps.SURNAME_ACROSS_LEVEL
            ),
            cll.JaroWinklerLevel("surname", 0.8),
            *_womans_other_surname(present),
            cll.ElseLevel(),
        ],
        comparison_description="surname",
    )


# A woman who marries often moves as well, so her two records disagree on surname and on
# postcode together. Weighed as two independent comparisons, the move was charged again on
# top of the change of name: on the hard place a woman's two records agreeing on forename,
# date of birth and district but not on surname or postcode scored about 0 bits, yet 513 such
# pairs were one woman and 5 were two. So where sex and postcode are held, a woman's different
# surname has a level for each way her two postcodes compare, whose m and u are the chance of
# her different surname given that the postcodes compare so (Splink trains each as a share of
# all pairs; training divides it by the postcode levels' shares, ``splink_backend.
# given_other_comparison``). With the postcode comparison's own weight, a pair's weight is
# then that of the two together. The postcode comparison reads no surname: Splink leaves a
# comparison out of an EM session blocked on a column it reads, and without the postcode the
# session on forename and surname learned that one true match in 20 has another date of birth.
WOMANS_POSTCODE_LEVELS = (
    f"{WOMANS_OTHER_SURNAME_LEVEL}, the same postcode",
    f"{WOMANS_OTHER_SURNAME_LEVEL}, another postcode in the same district",
    f"{WOMANS_OTHER_SURNAME_LEVEL}, a postcode in another district",
)
# The postcode comparison's levels (Splink's own labels) that each of them is given.
POSTCODE_LEVELS_GIVEN = {
    WOMANS_POSTCODE_LEVELS[0]: ("Exact match on full postcode",),
    WOMANS_POSTCODE_LEVELS[1]: ("Exact match on sector", "Exact match on district"),
    WOMANS_POSTCODE_LEVELS[2]: ("Exact match on area", "All other comparisons"),
}


class _DialectLevel(ComparisonLevelCreator):
    """A level whose SQL is composed, for each dialect, from Splink's own levels' SQL."""

    def __init__(self, sql: Callable[[SplinkDialect], str], label: str) -> None:
        self._sql = sql
        self._label = label

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        return self._sql(sql_dialect)

    def create_label_for_charts(self) -> str:
        return self._label


def _postcode_sql(how: str, dialect: SplinkDialect) -> str:
    """Two postcodes the same, different in one district, or held and in other districts,
    by the SQL of Splink's own postcode levels."""
    levels = {
        getattr(level, "label_for_charts", None): level.create_sql(dialect)
        for level in cl.PostcodeComparison("postcode").create_comparison_levels()
    }
    same = levels["Exact match on full postcode"]
    if how == "same":
        return same
    if how == "district":
        return f"NOT ({same}) AND {levels['Exact match on district']}"
    return f"NOT ({cll.NullLevel('postcode').create_sql(dialect)})"
