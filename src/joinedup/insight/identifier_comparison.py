"""The comparison of an identifier (NHS number, National Insurance number): the same, a
keying slip apart, or different.

Kept out of ``model`` as the surname's and the date of birth's levels are
(``surname_comparison``, ``date_levels``). The slip's level weighs nought, for and against;
it is there so that slips do not teach EM that a different number is common
(docs/benchmarks.md, the hard place at a million records).
"""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from joinedup.insight import splink_backend

__all__ = ["IDENTIFIER_U_PROBABILITY", "SLIP_PROBABILITY", "identifier"]

# The chance that two different people's records carry the same valid NHS or National
# Insurance number: a keying error rate, not a coincidence. Random sampling almost never
# sees such a pair, so estimating u would give zero (and an infinite weight); we fix it.
IDENTIFIER_U_PROBABILITY = 1e-5
# The m and u of an identifier's "a keying slip apart" level: equal, so its weight is nought.
SLIP_PROBABILITY = 1e-3


def identifier(column: str, label: str, digits: int | None) -> ComparisonCreator:
    """An identifier's comparison: the same, a keying slip apart (in its first ``digits``
    characters, or all of it), or different."""
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(
                u_probability=IDENTIFIER_U_PROBABILITY,
                fix_u_probability=True,
                label_for_charts=f"Same {label}",
            ),
            # A slip weighs nought, for and against. Without this level EM learned the
            # "different" level's m from the slips too: on the hard place of a million records
            # a different NHS number cost 3.2 bits (4.2 with it). Not for: a twin's number may
            # be the next one issued. The conflict check reads a slip as one person's number
            # too (conflicts.candidate_pairs).
            splink_backend.fixed_level(
                _slip(column, digits), f"{label}s a keying slip apart", m=SLIP_PROBABILITY, u=SLIP_PROBABILITY
            ),
            # A starting m: about 1 in 100 true matches carries another valid number (not a
            # slip: a number wrongly copied across, say). EM refines it where such pairs are seen.
            cll.ElseLevel().configure(label_for_charts=f"Different {label}", m_probability=0.01),
        ],
        comparison_description=label,
    )


def _slip(column: str, digits: int | None) -> ComparisonLevelCreator:
    """One character wrong, missing or extra, or two swapped, in the first ``digits``
    characters of ``column`` (all of it where None). The ends are tested first: such a slip
    leaves the first three or the last three characters of a number of seven or more as
    they were, and a Damerau-Levenshtein distance costs 70 times an equality in DuckDB (1.5 s
    for two million pairs of numbers, against 0.3 s with the ends tested first)."""
    if digits is None:
        compared: str | ColumnExpression = column
        first, last = (f"left({column}_{{side}}, 3)", f"right({column}_{{side}}, 3)")
    else:
        compared = ColumnExpression(column).substr(1, digits)
        first, last = (f"substr({column}_{{side}}, 1, 3)", f"substr({column}_{{side}}, {digits - 2}, 3)")
    ends = " OR ".join(f"{end.format(side='l')} = {end.format(side='r')}" for end in (first, last))
    return cll.And(cll.CustomLevel(ends), cll.DamerauLevenshteinLevel(compared, 1))
