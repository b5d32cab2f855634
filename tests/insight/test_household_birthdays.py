"""The u of the household birthday correction (one surname at one postcode, born the same
day), counted on a place's pairs of different people (``household_birthdays``), against
counts made by hand."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from joinedup.insight import date_levels, household_birthdays
from joinedup.insight.household_birthdays import shared_birthday_u
from joinedup.insight.household_comparisons import (
    HOUSEHOLD_BIRTHDAY_LEVEL,
    at_home,
    set_household_corrections,
)
from joinedup.insight.model import settings

# nhs_number, surname, postcode, dob
HOUSEHOLD = [
    ("1", "SMITH", "AB1 2CD", "2010-05-05"),  # a twin
    ("1", "SMITH", "AB1 2CD", "2010-05-05"),  # the same twin, recorded again: one person
    ("2", "SMITH", "AB1 2CD", "2010-05-05"),  # the other twin
    ("3", "SMITH", "AB1 2CD", "1980-01-02"),  # their parent
    ("4", "JONES", "XY1 1AA", "2010-05-05"),  # a stranger born the same day
    ("5", "BROWN", "XY2 2BB", "1975-07-07"),
    (None, "SMITH", "AB1 2CD", "2010-05-05"),  # no NHS number: cannot be told apart, not counted
]


def _frame(rows: list[tuple[str | None, ...]], identifier: str = "nhs_number") -> pa.Table:
    names = [identifier, "surname", "postcode", "dob"]
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def test_the_share_is_counted_on_pairs_whose_identifiers_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    # By hand, over the six records with an NHS number (15 pairs, one of them the same person):
    # different people, 14 pairs; of them 5 share a birthday (the three SMITH records born on
    # 2010-05-05 and JONES make 6 pairs, less the twin with herself). At one surname and
    # postcode: 4 SMITH records, 6 pairs less 1, so 5; of them sharing a birthday, 3 less 1: 2.
    monkeypatch.setattr(household_birthdays, "PSEUDO_PAIRS", 0.0)
    assert shared_birthday_u(_frame(HOUSEHOLD)) == pytest.approx(2 / 5)
    monkeypatch.setattr(household_birthdays, "PSEUDO_PAIRS", 10.0)
    assert shared_birthday_u(_frame(HOUSEHOLD)) == pytest.approx((2 + 10 * 5 / 14) / (5 + 10))


def test_without_twins_the_share_is_that_of_everyone() -> None:
    # No two people of one name and home share a birthday: never less likely than strangers.
    rows = [r for r in HOUSEHOLD if r[0] != "2"]  # the other twin left out
    # Five records with a number: 10 pairs less the twin with herself, 9; born the same day,
    # the twin's two records and JONES, 3 pairs less 1, 2. At home no two people share one.
    assert shared_birthday_u(_frame(rows)) == pytest.approx(2 / 9)


def test_ni_numbers_serve_without_nhs_numbers_and_neither_gives_none() -> None:
    assert shared_birthday_u(_frame(HOUSEHOLD, "ni_number")) == shared_birthday_u(_frame(HOUSEHOLD))
    assert shared_birthday_u(_frame(HOUSEHOLD, "uprn")) is None


# nhs_number, surname, postcode, dob: two homes, each with families and a lodger.
HOMES = [
    ("1", "SMITH", "AB1 2CD", "1980-01-02"),
    ("1", "SMITH", "AB1 2CD", "1980-01-02"),  # the same person, recorded again
    ("2", "SMITH", "AB1 2CD", "2010-05-05"),
    ("3", "PATEL", "AB1 2CD", "1975-03-03"),  # a lodger
    ("4", "JONES", "XY1 1AA", "1990-09-09"),
    ("5", "JONES", "XY1 1AA", "1992-10-10"),
    ("6", "SMITH", "XY2 2BB", "1960-06-06"),  # a SMITH elsewhere
]


def test_the_surname_share_at_one_postcode_is_counted_on_different_people(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # By hand: 7 records, 21 pairs, less the one of person 1 with herself: 20 of different
    # people. Sharing a surname: the four SMITH records make 6 pairs less 1, 5, and JONES 1: 6.
    # At one postcode: AB1 2CD holds 4 records, 6 pairs less 1, 5; XY1 1AA 1 pair: 6. Of these,
    # sharing a surname: the three SMITH pairs at AB1 2CD less 1, 2, and JONES 1: 3.
    monkeypatch.setattr(household_birthdays, "PSEUDO_PAIRS", 0.0)
    shares = household_birthdays.household_shares(_frame(HOMES))
    assert shares is not None
    assert shares.surname == pytest.approx(3 / 6)
    monkeypatch.setattr(household_birthdays, "PSEUDO_PAIRS", 10.0)
    shares = household_birthdays.household_shares(_frame(HOMES))
    assert shares is not None
    assert shares.surname == pytest.approx((3 + 10 * 6 / 20) / (6 + 10))


def test_the_surname_share_is_never_below_that_of_everyone() -> None:
    # Nobody at one postcode shares a surname: the share is that among all different people.
    rows = [("1", "SMITH", "AB1 2CD", "1980-01-02"), ("2", "PATEL", "AB1 2CD", "1975-03-03"),
            ("3", "SMITH", "XY1 1AA", "1990-09-09"), ("4", "JONES", "XY2 2BB", "1992-10-10")]  # fmt: skip
    shares = household_birthdays.household_shares(_frame(rows))
    assert shares is not None
    assert shares.surname == pytest.approx(1 / 6)  # of 6 pairs, SMITH and SMITH


# One home of six records (five people) and the same surname elsewhere, for the near dates.
FAMILY = [
    ("1", "KHAN", "AB1 2CD", "1975-05-12"),
    ("1", "KHAN", "AB1 2CD", "1975-05-12"),  # the same person, recorded again
    ("2", "KHAN", "AB1 2CD", "1995-05-12"),  # a child born on the parent's birthday, one digit apart
    ("3", "KHAN", "AB1 2CD", "2001-05-12"),  # another: the same day and month
    ("4", "KHAN", "AB1 2CD", "1980-03-04"),
    ("5", "KHAN", "AB1 2CD", "1980-04-03"),  # day and month the other way round from person 4
    ("7", "KHAN", "AB1 2CD", "1980-03-05"),  # a day after person 4 (and one digit apart)
    ("6", "KHAN", "XY1 1AA", "1995-05-12"),  # elsewhere: not at one home
]


def test_near_dates_at_one_home_are_counted_by_the_models_levels_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # By hand, at KHAN and AB1 2CD: 7 records, 21 pairs less person 1 with herself, 20. Person 1
    # (two records) with 2: one digit apart, 2 pairs; with 3: the same day and month, 2; 2 with
    # 3: the same day and month (1995 and 2001 are more than a digit apart), 1; 4 with 5:
    # transposed, 1; 4 with 7: a day apart, 1 (the level above one digit takes it). Every other
    # pair differs more.
    shares = household_birthdays.household_shares(_frame(FAMILY))
    assert shares is not None
    assert shares.at_home == 20
    assert shares.near == {
        date_levels.DAY_APART: 1, date_levels.TRANSPOSED: 1, date_levels.ONE_DIGIT: 2,
        date_levels.SAME_DAY_AND_MONTH: 3,
    }  # fmt: skip
    monkeypatch.setattr(household_birthdays, "PSEUDO_PAIRS", 0.0)
    assert shares.near_u(date_levels.ONE_DIGIT, 0.001) == pytest.approx(2 / 20)
    # Never below the share among all pairs: a correction only takes evidence away.
    assert shares.near_u(date_levels.ONE_DIGIT, 0.5) == 0.5
    monkeypatch.setattr(household_birthdays, "PSEUDO_PAIRS", 10.0)
    assert shares.near_u(date_levels.SAME_DAY_AND_MONTH, 0.01) == pytest.approx((3 + 10 * 0.01) / (20 + 10))


def _linker(household: household_birthdays.HouseholdShares | None, u: float) -> Any:
    """A linker with the model's settings, its random-pair u's for surname and date of birth
    set by hand to ``u``."""
    from splink import DuckDBAPI, Linker

    frame = _frame(HOMES).append_column("forename", pa.array(["A"] * len(HOMES))).append_column(
        "unique_id", pa.array([str(i) for i in range(len(HOMES))])
    )
    present = frozenset({"nhs_number", "surname", "postcode", "dob", "forename"})
    table = DuckDBAPI().register(frame.to_pandas(), table_name="records_in")
    linker = Linker(table, settings(present, household=household))
    for level in _levels(linker, "dob") + _levels(linker, "surname"):
        level.u_probability = u
    return linker


def _levels(linker: Any, comparison: str) -> list[Any]:
    comparisons = linker._settings_obj.comparisons  # noqa: SLF001 (the levels Splink will score with)
    (found,) = [c for c in comparisons if c.output_column_name == comparison]
    return [level for level in found.comparison_levels if not level.is_null_level]


def test_corrections_take_the_plain_levels_u_as_m_and_near_dates_their_counted_u() -> None:
    shares = household_birthdays.HouseholdShares(
        birthday=0.3, surname=0.05, at_home=100.0, near={date_levels.ONE_DIGIT: 100.0}
    )
    linker = _linker(shares, 0.002)
    set_household_corrections(linker, shares)
    corrections = {level.label_for_charts: level for level in _levels(linker, "household_birthday")}
    exact = corrections[HOUSEHOLD_BIRTHDAY_LEVEL]
    assert (exact.m_probability, exact.u_probability) == (0.002, 0.3)
    one_digit = corrections[at_home(date_levels.ONE_DIGIT)]
    # Counted 100 of 100 pairs, pulled towards 0.002 by PSEUDO_PAIRS (100) pairs.
    assert one_digit.m_probability == 0.002
    assert one_digit.u_probability == pytest.approx((100 + 100 * 0.002) / 200)
    transposed = corrections[at_home(date_levels.TRANSPOSED)]
    assert transposed.u_probability == transposed.m_probability == 0.002  # none counted: nought
    (surname, _other) = _levels(linker, "household_surname")
    assert (surname.m_probability, surname.u_probability) == (0.002, 0.05)


def test_where_nothing_could_be_counted_every_correction_is_nought() -> None:
    # Random-pair u's below the corrections' starting guesses (1e-4 and 1e-3), so that a
    # guess left in place would show as a weight below nought.
    linker = _linker(None, 1e-5)
    set_household_corrections(linker, None)
    for level in _levels(linker, "household_birthday")[:-1]:
        assert level.m_probability == level.u_probability == 1e-5, level.label_for_charts
    (surname, _other) = _levels(linker, "household_surname")
    assert surname.m_probability == surname.u_probability == 1e-5
