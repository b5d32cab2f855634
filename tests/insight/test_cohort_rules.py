"""Each kind of cohort rule, and their combination, against a count by hand on a small place
(tests/support/small_place.py); definitions that name what the place does not hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from joinedup.insight import cohorts as cohort_mod
from joinedup.insight.cohort_rules import Cohort
from joinedup.insight.cohorts import CohortError, define_cohort, delete_cohort, persons_in
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from tests.support.small_place import build_small_place


@pytest.fixture
def place(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    build_small_place(tmp_path / "small.duckdb")
    con = connect(tmp_path / "small.duckdb", memory_limit="500MB", threads=1)
    yield con
    con.close()


def _members(con: duckdb.DuckDBPyConnection, name: str, **rules: object) -> set[str]:
    cohort = define_cohort(con, name, name, **rules)  # type: ignore[arg-type]
    return set(persons_in(con, cohort.name))


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"min_services": 3}, {"P1", "P4", "P5"}),
        ({"min_services": 2, "max_services": 3}, {"P1", "P2", "P5"}),
        ({"max_services": 1}, {"P3", "P6"}),
        ({"min_partners": 3}, {"P1", "P4"}),
        ({"min_partners": 2, "max_partners": 2}, {"P5"}),
        ({"needs": ["homelessness", "substance_misuse", "offending"], "min_needs": 2}, {"P1", "P4"}),
        ({"needs": ["physical_health"]}, {"P3", "P4", "P5"}),  # a ticked need: at least one
        ({"min_needs": 2}, {"P1", "P4", "P5"}),  # any of the place's needs
        # P4's records give 2001 and 1980: different bands, so no band. P5's two dates of
        # birth are both 24 on 1 April 2024: the same band, so 18-24.
        ({"age_bands": ["18-24"]}, {"P1", "P5"}),
        ({"age_bands": ["35-49", "50-64"]}, {"P3"}),
        # P5's records say F and M: no sex, so in neither.
        ({"sexes": ["M"]}, {"P1", "P4", "P6"}),
        ({"sexes": ["F"]}, {"P2", "P3"}),
        ({"partners": ["Police"]}, {"P1", "P4", "P6"}),
        ({"partners": ["Police", "NHS Trust"]}, {"P4"}),
        ({"known_sources": ["outreach"]}, {"P2", "P5"}),
        ({"min_services": 3, "sexes": ["M"], "age_bands": ["18-24"]}, {"P1"}),
    ],
)
def test_each_rule_selects_the_persons_counted_by_hand(
    place: duckdb.DuckDBPyConnection, rules: dict[str, object], expected: set[str]
) -> None:
    assert _members(place, "c", **rules) == expected


def test_known_to_three_or_more_services_is_built_in_and_cannot_be_deleted(
    place: duckdb.DuckDBPyConnection,
) -> None:
    found = cohort_mod.find_cohort(place, "services3")
    assert found is not None and found.builtin and found.min_services == 3
    assert set(persons_in(place, "services3")) == {"P1", "P4", "P5"}
    with pytest.raises(CohortError, match="built in"):
        delete_cohort(place, "services3")
    assert cohort_mod.find_cohort(place, "services3") is not None


def test_a_rule_that_selects_nobody_is_saved_and_empty(place: duckdb.DuckDBPyConnection) -> None:
    assert _members(place, "young women", age_bands=["18-24"], sexes=["F"]) == set()
    assert cohort_mod.find_cohort(place, "young_women") is not None


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        ({"partners": ["Southbrook Council"]}, "partners", "not a partner of this place"),
        ({"known_sources": ["elsewhere"]}, "partners", "not a source of this place"),
        ({"needs": ["astrology"]}, "needs", "not recorded in this place"),
        ({"age_bands": ["17-19"]}, "age_bands", "not an age band"),
        ({"sexes": ["X"]}, "sexes", "not a sex"),
        ({"min_services": 9}, "min_services", "only 5 services"),
        ({"min_services": 3, "max_services": 2}, "max_services", "cannot be fewer"),
        ({}, "name", "at least one rule"),
    ],
)
def test_a_rule_naming_what_the_place_does_not_hold_is_refused_and_nothing_saved(
    place: duckdb.DuckDBPyConnection, rules: dict[str, object], field: str, message: str
) -> None:
    before = place.execute("SELECT count(*) FROM cohort_definitions").fetchall()
    with pytest.raises(CohortError, match=message) as raised:
        define_cohort(place, "bad", "bad", **rules)  # type: ignore[arg-type]
    assert raised.value.field == field
    assert place.execute("SELECT count(*) FROM cohort_definitions").fetchall() == before


def test_deleting_a_defined_cohort_removes_it(place: duckdb.DuckDBPyConnection) -> None:
    define_cohort(place, "police", "police", partners=["Police"])
    deleted = delete_cohort(place, "police")
    assert deleted.label == "police" and cohort_mod.find_cohort(place, "police") is None
    with pytest.raises(CohortError):
        persons_in(place, "police")


def test_an_older_store_keeps_its_need_cohorts(tmp_path: Path) -> None:
    """A store made before the new rule columns: its cohorts keep meaning what they meant."""
    path = tmp_path / "old.duckdb"
    build_small_place(path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE cohort_definitions")
    con.execute(
        "CREATE TABLE cohort_definitions (name VARCHAR PRIMARY KEY, label VARCHAR NOT NULL, "
        "needs VARCHAR NOT NULL, min_needs INTEGER NOT NULL, builtin BOOLEAN DEFAULT FALSE)"
    )
    con.execute("INSERT INTO cohort_definitions VALUES ('mine', 'Mine', 'homelessness,offending', 2, FALSE)")
    con.execute("INSERT INTO cohort_definitions VALUES ('any1', 'Any', '', 1, FALSE)")
    con.close()
    con = connect(path, memory_limit="500MB", threads=1)
    try:
        seed_reference(con)
        mine = cohort_mod.find_cohort(con, "mine")
        assert mine == Cohort("mine", "Mine", ("homelessness", "offending"), 2, False)
        assert set(persons_in(con, "mine")) == {"P1", "P4"}
        assert set(persons_in(con, "any1")) == {f"P{i}" for i in range(1, 7)}
        assert cohort_mod.find_cohort(con, "services3") is not None
    finally:
        con.close()


def test_a_filter_naming_another_places_partner_is_refused(place: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(CohortError) as raised:
        cohort_mod.filter_cohort(place, partner="Southbrook Council")
    assert raised.value.field == "partner"
    extra = cohort_mod.filter_cohort(place, partner="Police", sex="M")
    assert extra is not None and cohort_mod.filter_cohort(place) is None
