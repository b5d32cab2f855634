"""Households: persons sharing an address in a financial year, counted by hand here."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule
from joinedup.insight.households import household_figures, household_sizes
from joinedup.insight.periods import FinancialYear
from tests.support.attacker import Attacker

FY24 = FinancialYear(2024)


def _record(con: duckdb.DuckDBPyConnection, rid: str, person: str, day: date, *,
            uprn: str | None = None, postcode: str | None = None, address: str | None = None) -> None:
    con.execute(
        "INSERT INTO records (source, record_id, uprn, postcode, address_line, event_date) "
        "VALUES ('s', ?, ?, ?, ?, ?)", [rid, uprn, postcode, address, day],
    )  # fmt: skip
    con.execute("INSERT INTO person_links VALUES ('s', ?, ?)", [rid, person])


def test_households_by_hand(store: duckdb.DuckDBPyConnection) -> None:
    may, june, jan = date(2024, 5, 1), date(2024, 6, 1), date(2025, 1, 10)
    # A and B share a UPRN: one household of 2.
    _record(store, "1", "A", may, uprn="100")
    _record(store, "2", "B", june, uprn="100")
    # C and D share an address written two ways (case, punctuation, spaces): a household of 2.
    _record(store, "3", "C", may, postcode="M1 1AA", address="12, High St.")
    _record(store, "4", "D", june, postcode="m11aa", address="12  HIGH ST")
    # E moved in January: only the latest address of the year counts, so E joins A and B.
    _record(store, "5", "E", may, uprn="999")
    _record(store, "6", "E", jan, uprn="100")
    # F has a postcode only: no household. G is alone. H's record is in another year.
    _record(store, "7", "F", may, postcode="M1 1AA")
    _record(store, "8", "G", may, uprn="555")
    _record(store, "9", "H", date(2023, 5, 1), uprn="555")
    sizes = household_sizes(store, FY24).set_index("size")["households"].to_dict()
    assert sizes == {"1 person": 1, "2 persons": 1, "3 persons": 1, "4 or more persons": 0}


def _attack(shown: dict[str, int | None], two_or_more: int | None, half: float) -> Attacker:
    """Everything a viewer sees of a year's households, as an attacker's constraints."""
    att = Attacker(half)
    bands = [b for b in shown if b != "Total"]
    for band in bands:
        att.shown(band, shown[band])
    for members, total in ((bands, shown["Total"]), (bands[1:], two_or_more)):
        if total is None:
            continue
        att.between([(m, 1.0) for m in members], total - half, total + half)
        hidden = [m for m in members if shown[m] is None]
        if hidden:  # the method publishes a total as shown parts + the rounded hidden mass
            rest = total - sum(float(shown[m] or 0) for m in members if shown[m] is not None)
            att.between([(m, 1.0) for m in hidden], rest - half, rest + half)
    return att


@pytest.mark.parametrize("small", [1, 2, 5, 7])
def test_a_small_household_count_cannot_be_recovered(store: duckdb.DuckDBPyConnection, small: int) -> None:
    day = date(2024, 7, 1)
    n = 0
    # Twenty single households, ten of two, and a small number of three.
    for size, count in ((1, 20), (2, 10), (3, small)):
        for h in range(count):
            for _ in range(size):
                n += 1
                _record(store, str(n), f"P{n}", day, uprn=f"{size}-{h}")
    rule = DisclosureRule(threshold=8, rounding=5)
    figures = household_figures(store, PlaceContext(slug="t", rule=rule), FY24)
    shown = figures.sizes.set_index("size")["households"].to_dict()
    assert shown["3 persons"] is None
    assert shown["1 person"] == 20
    low, high = _attack(shown, figures.two_or_more, rule.rounding / 2).range("3 persons")
    # The viewer must not narrow the hidden count below the rule's whole small range.
    assert low <= 1 and high >= rule.threshold - 1, (low, high)


def test_a_year_without_addresses_has_no_households(store: duckdb.DuckDBPyConnection) -> None:
    _record(store, "1", "A", date(2024, 5, 1), postcode="M1 1AA")
    assert household_sizes(store, FY24)["households"].tolist() == [0, 0, 0, 0]
