"""Two corrections, not fields: the comparisons that take back what Splink's independence
takes for granted among people who live together.

Splink adds up agreements as if independent given whether a pair is a match. Between
strangers that holds. Among people at one postcode it does not: they share a surname far
more often than strangers (families live together), and of those with one surname, a date of
birth far more often (twins). A twin pair at home collected the surname's, the birthday's and
the home's weights in full, about +30 bits, and was merged (docs/benchmarks.md, the hard
place).

Each correction's levels have m and u fixed, so EM does not train them. A level's u is the
place's own share among different people (``household_birthdays.household_shares``); its m
is the u of the plain level it corrects ("Exact match on dob", "Exact match on surname", a
near date's level) between random records, set once u is estimated
(``splink_backend.copy_u_to_m``). Its weight, log2(m/u), takes the agreement from what it is
worth between strangers to what it is worth among people at one home. It is never above
nought, and it is nought where nothing could be counted. The two compose by the chain rule:
P(home, surname, birthday) = P(home) · P(surname | home) · P(birthday | surname, home).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from joinedup.insight import date_levels, splink_backend
from joinedup.insight.household_birthdays import HouseholdShares
from joinedup.insight.splink_backend import fixed_level

__all__ = [
    "HOUSEHOLD_BIRTHDAY_LEVEL",
    "HOUSEHOLD_CORRECTIONS",
    "HOUSEHOLD_BIRTHDAY_U",
    "HOUSEHOLD_SURNAME_LEVEL",
    "HOUSEHOLD_SURNAME_U",
    "SURNAME_EXACT_LEVEL",
    "at_home",
    "household_birthday",
    "household_comparable",
    "household_surname",
    "set_household_corrections",
]

# The household birthday comparison: its level for a pair of one surname and postcode born the
# same day, and the starting u that the place's own share replaces.
HOUSEHOLD_BIRTHDAY_LEVEL = "Same date of birth and postcode, surname the same or a typo away"
HOUSEHOLD_BIRTHDAY_U = 1e-4
# The household surname comparison: its level for a pair of one surname at one postcode.
HOUSEHOLD_SURNAME_LEVEL = "Same surname and postcode"
HOUSEHOLD_SURNAME_U = 1e-3
# The surname comparison's exact level (model._surname), whose u is a correction's m.
SURNAME_EXACT_LEVEL = "Exact match on surname"


def household_comparable(present: frozenset[str]) -> bool:
    """Whether a place can have the household corrections: two records must be told apart by
    an identifier, and compared on surname, postcode and date of birth."""
    return {"surname", "postcode", "dob"} <= present and bool({"nhs_number", "ni_number"} & present)


def household_birthday(u_probability: float) -> ComparisonCreator:
    """What the same date of birth, or a near one, is worth for a pair of one surname at one
    postcode.

    Exact dates are twins. Near ones are family too: a parent and child born 20 or 30 years
    apart on the same day are one digit apart (1975 and 1995), and on the hard place 41 of a
    sample of 50 false pairs of parents and children were "one digit wrong" at one home. Each
    near level mirrors the date of birth's level of that name (``date_levels``); its m and u
    start equal (no correction) and are set at training from the place's own counts
    (``splink_backend.copy_u_to_m``), as the exact level's m is."""
    def at_one_home(dob: ComparisonLevelCreator) -> ComparisonLevelCreator:
        # The same surname, or one a typo away (a twin's record keyed with a slip kept the
        # shared birthday's full weight); the shares are counted on exact surnames.
        same_name = cll.Or(cll.ExactMatchLevel("surname"), cll.JaroWinklerLevel("surname", 0.92))
        return cll.And(dob, same_name, cll.ExactMatchLevel("postcode"))

    near = [
        fixed_level(at_one_home(date_levels.condition(level)), at_home(level), m=1.0, u=1.0)
        for level in date_levels.NEAR
    ]
    return cl.CustomComparison(
        output_column_name="household_birthday",
        comparison_levels=[
            _lacking("dob", "surname", "postcode"),
            fixed_level(at_one_home(date_levels.condition(date_levels.EXACT)), HOUSEHOLD_BIRTHDAY_LEVEL,
                        m=HOUSEHOLD_BIRTHDAY_U, u=u_probability),
            *near,
            _no_correction(),
        ],
        comparison_description="date of birth at one surname and postcode",
    )  # fmt: skip


def household_surname(u_probability: float) -> ComparisonCreator:
    """What the same surname is worth for a pair at one postcode. Exact surnames only: the
    share is counted on them, and a surname a typo away already scores less."""
    return cl.CustomComparison(
        output_column_name="household_surname",
        comparison_levels=[
            _lacking("surname", "postcode"),
            fixed_level(cll.And(cll.ExactMatchLevel("surname"), cll.ExactMatchLevel("postcode")),
                        HOUSEHOLD_SURNAME_LEVEL, m=HOUSEHOLD_SURNAME_U, u=u_probability),
            _no_correction(),
        ],
        comparison_description="surname at one postcode",
    )  # fmt: skip


def at_home(dob_level: str) -> str:
    """The household birthday correction's label for a near date of birth level (a day
    apart, a date transposed, a digit apart, or the same day and month) of a pair of one
    surname and postcode."""
    return f"{dob_level}, at one surname and postcode"


# The plain levels whose u (between random records) is a correction's m, and the corrections'
# levels: (comparison, level) of each, plain first.
HOUSEHOLD_CORRECTIONS = (
    (("dob", date_levels.EXACT), ("household_birthday", HOUSEHOLD_BIRTHDAY_LEVEL)),
    (("surname", SURNAME_EXACT_LEVEL), ("household_surname", HOUSEHOLD_SURNAME_LEVEL)),
    *((("dob", near), ("household_birthday", at_home(near))) for near in date_levels.NEAR),
)


def set_household_corrections(linker: Any, household: HouseholdShares | None) -> None:
    """Once u is estimated, each correction's m is its plain level's u between random
    records, and a near date's u is its count pulled towards that m. Where nothing could be
    counted (``household`` None: too few identifiers), every correction is nought (u = m)."""
    for plain, correction in HOUSEHOLD_CORRECTIONS:
        u_given_m: Callable[[float], float] | None = None  # its u counted before training
        if household is None:
            u_given_m = float  # m itself
        elif plain[1] in date_levels.NEAR:
            u_given_m = functools.partial(household.near_u, plain[1])
        splink_backend.copy_u_to_m(linker, plain, correction, u_given_m)


def _lacking(*columns: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(" OR ".join(f"{c}_{side} IS NULL" for c in columns for side in "lr")).configure(
        is_null_level=True, label_for_charts="One or both records lack a field of it"
    )


def _no_correction() -> ComparisonLevelCreator:
    return fixed_level(cll.ElseLevel(), "Any other pair (no correction)", m=1.0, u=1.0)
