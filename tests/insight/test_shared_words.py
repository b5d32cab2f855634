"""The address levels that count shared words (in any order), and the blocking rule for
swapped names at one end of address: the SQL each backend gets, and what DuckDB makes of it."""

from __future__ import annotations

import duckdb
import pytest
from splink.internals.dialects import SplinkDialect

from joinedup.insight import model as link_model


def _words(line: str) -> list[str]:
    return sorted(set(line.split(" ")))


@pytest.mark.parametrize(
    ("left", "right", "levels"),
    [
        # A line missing and a house number dropped: 6 of 8 + 7 words shared (Dice 0.8).
        ("2 OUTTRIM AVENUE GOWRIE CROWS NEST SA 2260", "OUTTRIM AVENUE GOWRIE CROWS NEST SA 2260",
         {(3, 4), (1, 2), (1, 3)}),
        # Lines reordered, nothing else changed: every word shared.
        ("1 GALLOWAY STREET AGARABI", "1 AGARABI GALLOWAY STREET", {(3, 4), (1, 2), (1, 3)}),
        # Another street of the same kind: 2 of 3 + 3 words (Dice 0.67).
        ("12 HIGH STREET", "12 MILL STREET", {(1, 2), (1, 3)}),
        # Only the street type in common: 1 of 3 + 3 (Dice 0.33).
        ("12 HIGH STREET", "40 MILL STREET", {(1, 3)}),
        ("12 HIGH STREET", "3 MILL ROAD", set()),
    ],
)  # fmt: skip
def test_shared_words_levels_on_duckdb(left: str, right: str, levels: set[tuple[int, int]]) -> None:
    con = duckdb.connect()
    held = set()
    for numerator, denominator in ((3, 4), (1, 2), (1, 3)):
        level = link_model.SharedWordsLevel("address_words", numerator, denominator)
        sql = level.create_sql(SplinkDialect.from_string("duckdb"))
        row = con.execute(
            f"SELECT {sql} FROM (SELECT ?::VARCHAR[] AS address_words_l, ?::VARCHAR[] AS address_words_r)",  # noqa: S608
            [_words(left), _words(right)],
        ).fetchone()
        if row and row[0]:
            held.add((numerator, denominator))
    assert held == levels


def test_shared_words_level_is_written_for_spark() -> None:
    sql = link_model.SharedWordsLevel("address_words", 3, 4).create_sql(SplinkDialect.from_string("spark"))
    assert sql == (
        "SIZE(ARRAY_INTERSECT(address_words_l, address_words_r)) * 8 >= "
        "3 * (SIZE(address_words_l) + SIZE(address_words_r))"
    )


def _rules(present: frozenset[str]) -> list[str]:
    return [r.get_blocking_rule("duckdb").blocking_rule_sql for r in link_model.blocking_rules(present)]  # type: ignore[union-attr]


def test_swapped_names_at_one_address_are_blocked_both_ways() -> None:
    rules = _rules(frozenset({"forename", "surname", "dob", "address_line"}))
    assert "l.surname_address_key = r.forename_address_key" in rules
    assert "l.forename_address_key = r.surname_address_key" in rules
    # Without an address the keys are never made, and the rules are left out.
    assert not any("address_key" in r for r in _rules(frozenset({"forename", "surname", "dob"})))
