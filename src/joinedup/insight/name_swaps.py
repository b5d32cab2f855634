"""A forename and a surname swapped between two records: both names across, one of them
perhaps mistyped, weighed once.

Splink's ``ColumnsReversedLevel`` asks one name alone to agree across (the left record's
forename with the right's surname), and the model had one in the forename comparison and
one in the surname comparison, each labelled a swap. On the hard place at a million records
two things followed:

* **A relative was taken for a swap.** DEAN RUSHTHWAITE, keyed as forename RUSHTHWAITE and
  surname DEAN, met his twin ABIGAIL RUSHTHWAITE on the family name alone, at the weight EM
  learned from true swaps. With their birthday and home the pair was linked: of 150 false
  pairs touching a twin that were linked, 67 had one record's names swapped so.
* **A swap with a typo was not credited with its other name.** JENNIFER ELMMORE and
  ELMMORE JWNNIFER agree across on ELMMORE, but JENNIFER was compared with ELMMORE.

So a swap (``SwappedNamesLevel``) is now both names across, the one exactly and the other
the same or a typo away (Jaro-Winkler at least ``SIMILAR``, as the names' own typo levels,
or one letter out), either way round. It is one event and is weighed once, by the forename
comparison; the surname comparison has the same level at a fixed weight of nought
(``swap_weighed_with_the_forename``), so that its other levels do not see it. Trained apart,
the two levels gave 13.7 bits each on the 1M place, where the one event is worth 13.7.

One name alone across keeps a level of its own in each comparison, read from that
comparison's column so that it counts once (``FORENAME_ACROSS_LEVEL``,
``SURNAME_ACROSS_LEVEL``): a swap whose other name changed past a typo (PEG for MARGARET; a
woman's name swapped and changed on marriage), or a relative's family name. EM weighs it
apart from swaps: about 3 bits on the 1M place, where a swap is about 14.
"""

from __future__ import annotations

from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.dialects import SplinkDialect

from joinedup.insight import splink_backend

__all__ = [
    "FORENAME_ACROSS_LEVEL",
    "SIMILAR",
    "SURNAME_ACROSS_LEVEL",
    "SWAPPED_NAMES_LEVEL",
    "SWAP_WITH_THE_FORENAME",
    "SwappedNamesLevel",
    "swap_weighed_with_the_forename",
    "swapped_names_sql",
]

SWAPPED_NAMES_LEVEL = "Forename and surname swapped"
# The surname comparison's level for a swap, weighing nought.
SWAP_WITH_THE_FORENAME = "Forename and surname swapped (weighed with the forename)"
FORENAME_ACROSS_LEVEL = "The forename is the other record's surname"
SURNAME_ACROSS_LEVEL = "The surname is the other record's forename"
# The Jaro-Winkler similarity at which the name not exactly across is taken as a typo: that
# of the forename and surname comparisons' own typo levels.
SIMILAR = 0.92
# The m and u, equal, of the surname comparison's swap level: any small share will do.
_NOUGHT = 1e-3


def swapped_names_sql(dialect: SplinkDialect) -> str:
    """Both names across the pair, one exactly and the other a typo away: Jaro-Winkler at
    least ``SIMILAR``, or one letter wrong, missing or two swapped (JULKE for JULIE, 0.91)."""

    def typo(a: str, b: str) -> str:
        jw, dl = dialect.jaro_winkler_function_name, dialect.damerau_levenshtein_function_name
        return f"({jw}({a}, {b}) >= {SIMILAR} OR {dl}({a}, {b}) <= 1)"

    return (
        f"((forename_l = surname_r AND {typo('surname_l', 'forename_r')})"
        f" OR (surname_l = forename_r AND {typo('forename_l', 'surname_r')}))"
    )


class SwappedNamesLevel(ComparisonLevelCreator):
    """The level of a pair whose forename and surname are swapped (``swapped_names_sql``)."""

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        return swapped_names_sql(sql_dialect)

    def create_label_for_charts(self) -> str:
        return SWAPPED_NAMES_LEVEL


def swap_weighed_with_the_forename() -> ComparisonLevelCreator:
    """The surname comparison's swap level: m and u fixed and equal, so EM leaves it at
    nought and the forename comparison's level alone weighs the swap."""
    return splink_backend.fixed_level(SwappedNamesLevel(), SWAP_WITH_THE_FORENAME, m=_NOUGHT, u=_NOUGHT)
