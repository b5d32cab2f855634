"""Swapped names (``name_swaps``): a swap is both names across, one perhaps mistyped, and is
weighed once; one name alone across (a relative's family name, or a swap whose other name
changed past a typo) is a level of its own in one comparison only."""

from __future__ import annotations

from typing import Any

import pytest

from joinedup.insight.model import ALL_FIELDS
from joinedup.insight.name_swaps import (
    FORENAME_ACROSS_LEVEL,
    SURNAME_ACROSS_LEVEL,
    SWAP_WITH_THE_FORENAME,
    SWAPPED_NAMES_LEVEL,
)
from tests.support.model_levels import comparison_levels, level_taken

SWAP = (SWAPPED_NAMES_LEVEL, SWAP_WITH_THE_FORENAME)


def _levels(left: tuple[str, str], right: tuple[str, str]) -> tuple[str, str]:
    """The forename and surname comparisons' levels for two records' (forename, surname)."""
    pair: dict[str, Any] = {
        "forename_l": left[0], "surname_l": left[1], "forename_r": right[0], "surname_r": right[1],
        "forename_names_l": [], "forename_names_r": [], "previous_surname_l": None,
        "previous_surname_r": None, "sex_l": None, "sex_r": None, "postcode_l": None, "postcode_r": None,
    }  # fmt: skip
    return (
        level_taken(comparison_levels(ALL_FIELDS, "forename"), pair),
        level_taken(comparison_levels(ALL_FIELDS, "surname"), pair),
    )


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("JOHN", "SMITH"), ("SMITH", "JOHN")),
        (("JENNIFER", "ELMMORE"), ("ELMMORE", "JWNNIFER")),  # the forename mistyped
        (("ELMMORE", "JWNNIFER"), ("JENNIFER", "ELMMORE")),  # the same, the other way round
        (("JENNIFER", "ELMMORE"), ("ELMORE", "JENNIFER")),  # the surname mistyped
        (("JULKE", "BLACKLEY"), ("BLACKLEY", "JULIE")),  # a letter out: Jaro-Winkler 0.91
    ],
)
def test_both_names_across_are_a_swap_weighed_by_the_forename_alone(
    left: tuple[str, str], right: tuple[str, str]
) -> None:
    # Before, JENNIFER was compared with ELMMORE: the forename's level was "all other".
    assert _levels(left, right) == SWAP


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("RUSHTHWAITE", "DEAN"), ("ABIGAIL", "RUSHTHWAITE")),  # a twin's names swapped
        (("ABIGAIL", "RUSHTHWAITE"), ("RUSHTHWAITE", "DEAN")),
        (("DAVID", "JAMES"), ("JAMES", "DAVIES")),  # two men, one's surname the other's forename
        (("MARGARET", "BLACKFIELD"), ("BLACKFIELD", "PEG")),  # a swap, the forename a short form
    ],
)
def test_one_name_alone_across_is_no_swap_and_counts_once(
    left: tuple[str, str], right: tuple[str, str]
) -> None:
    # Before, a twin's family name across took the weight EM learned from true swaps.
    forename, surname = _levels(left, right)
    assert forename not in SWAP and surname not in SWAP
    assert [forename == FORENAME_ACROSS_LEVEL, surname == SURNAME_ACROSS_LEVEL].count(True) == 1


def test_the_surname_comparisons_swap_weighs_nought_whatever_em_does() -> None:
    swap = _level("duckdb", "surname", SWAP_WITH_THE_FORENAME)
    assert swap["m_probability"] == swap["u_probability"]
    assert swap["fix_m_probability"] and swap["fix_u_probability"]


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_the_swap_is_written_for_each_dialect(dialect: str) -> None:
    swap = _level(dialect, "forename", SWAPPED_NAMES_LEVEL)
    assert ("jaro_winkler_similarity(" if dialect == "duckdb" else "jaro_winkler(") in swap["sql_condition"]


def _level(dialect: str, comparison: str, label: str) -> dict[str, Any]:
    (level,) = [
        lv for lv in comparison_levels(ALL_FIELDS, comparison, dialect) if lv.get("label_for_charts") == label
    ]
    return level
