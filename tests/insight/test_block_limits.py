"""A file built to make linkage explode is stopped before any pair is scored.

The attack: many records alike (one name and date of birth, each with its own NHS number and
postcode), as dummy or test records can be. Every pair of them shares a block, so linking
them costs the square of their number (``bench/conflict_star.py``: 4,000 took 61 s and
4.9 GB). Above the limit the run stops, says which fields and extracts, and the persons stay
as they were; below it, the same records link.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from splink import block_on

from joinedup.insight import block_limits
from joinedup.insight.link import LinkError, link_place
from joinedup.insight.model import blocking_rules
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place
from joinedup.synth.insight_people import nhs_number
from tests.support.persons import partition
from tests.support.store_copies import copy_store

ALIKE = 40


def test_the_rules_counted_are_equalities_of_one_field() -> None:
    dob_surname = block_limits.rule_sql(block_on("dob", "surname"))
    assert block_limits.equality_fields(dob_surname) == ("dob", "surname")
    assert block_limits.equality_fields("l.nhs_number = r.nhs_number") == ("nhs_number",)
    # A field against another is not one group of records alike.
    assert block_limits.equality_fields("l.dob = r.dob AND l.forename = r.surname") is None
    assert block_limits.equality_fields("l.dob = r.birth_year || '-01-01' AND l.surname = r.surname") is None
    assert block_limits.equality_fields("1 = 1") is None
    assert block_limits.equality_fields("not sql (") is None
    counted = [block_limits.equality_fields(block_limits.rule_sql(r)) for r in blocking_rules()]
    assert ("dob", "surname") in counted and ("postcode", "forename") in counted


def _plant(con: duckdb.DuckDBPyConnection) -> None:
    """ALIKE records with one name, date of birth and sex, each its own NHS number and
    postcode, half in each of two extracts."""
    rng = random.Random(3)
    for i in range(ALIKE):
        source = "emergency_department" if i % 2 else "community_mental_health"
        con.execute(
            "INSERT INTO records SELECT * REPLACE (? AS record_id, 'OLIVER' AS forename, 'HARTLEY' AS "
            "surname, 'Oliver' AS forename_raw, 'Hartley' AS surname_raw, DATE '1984-06-12' AS "
            "date_of_birth, 'M' AS sex, ? AS postcode, NULL AS address_line, NULL AS uprn, ? AS "
            "nhs_number, NULL AS ni_number) FROM records WHERE source = ? LIMIT 1",
            [f"ALIKE-{i}", f"NB{i % 9 + 1} {i % 10}{chr(65 + i % 26)}A", nhs_number(rng), source],
        )


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("block_limits")
    generate_place(300, root / "extracts", seed=9, formats="csv")
    con = connect(root / "place.duckdb", memory_limit="500MB", threads=1)
    ingest_directory(con, root / "extracts")
    link_place(con, work_dir=root / "work", seed=42)
    con.execute("CHECKPOINT")
    con.close()
    yield root


def _refused(con: duckdb.DuckDBPyConnection, place: Path, **kwargs: Any) -> str:
    before = partition(con)
    with pytest.raises(LinkError) as raised:
        link_place(con, work_dir=place / "work", max_block=ALIKE - 10, **kwargs)
    assert partition(con) == before  # the persons are as they were
    status = con.execute("SELECT status, message FROM link_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    assert status is not None and status[0] == "failed" and status[1] == str(raised.value)
    return str(raised.value)


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_records_alike_in_thousands_stop_the_run(place: Path, mode: str) -> None:
    con = copy_store(place, f"alike_{mode}")
    try:
        _plant(con)
        message = _refused(con, place, mode=mode)
        assert f"{ALIKE:,} records share one date of birth and surname" in message
        assert "20 in community_mental_health" in message and "20 in emergency_department" in message
        assert f"more than the {ALIKE - 10:,} one block may hold (setting JOINEDUP_LINK_MAX_BLOCK)" in message
        assert f"{ALIKE * (ALIKE - 1) // 2:,} pairs" in message
        assert "HARTLEY" not in message.upper() and "1984" not in message  # no personal values
    finally:
        con.close()


def test_below_the_limit_the_same_records_link(place: Path) -> None:
    """The control: the same records with the limit above their number are linked."""
    con = copy_store(place, "alike_allowed")
    try:
        _plant(con)
        result = link_place(con, work_dir=place / "work", mode="incremental", max_block=ALIKE + 10)
        assert result.new_records == ALIKE
        linked = con.execute("SELECT count(*) FROM person_links WHERE record_id LIKE 'ALIKE-%'").fetchone()
        assert linked is not None
        assert linked[0] == ALIKE
    finally:
        con.close()


def _toy(rules_pairs: list[tuple[int, int]]) -> duckdb.DuckDBPyConnection:
    """Six records alike (rows 0–5) and two others, with the pairs given (rule 0)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE place (source VARCHAR, dob VARCHAR, surname VARCHAR, forename VARCHAR)")
    rows: list[tuple[str, str | None, str, str]] = [("a", "1990-01-01", "LEE", "ANN")] * 4
    rows += [("b", "1990-01-01", "LEE", "ANN")] * 2
    rows += [("a", "1970-05-05", "KHAN", "LEE"), ("b", None, "LEE", "ZED")]
    con.executemany("INSERT INTO place VALUES (?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE pairs (k INTEGER, a BIGINT, b BIGINT)")
    con.executemany("INSERT INTO pairs VALUES (0, ?, ?)", rules_pairs)
    return con


def test_the_pairs_made_are_counted_per_record() -> None:
    alike = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    con = _toy(alike)
    rules = ["l.dob = r.dob AND l.surname = r.surname"]
    block_limits.check_pairs(con, "pairs", "place", rules, limit=5)  # 5 partners each: allowed
    with pytest.raises(block_limits.BlockTooLarge) as raised:
        block_limits.check_pairs(con, "pairs", "place", rules, limit=4)
    assert raised.value.block == block_limits.LargeBlock(("dob", "surname"), 6, (("a", 4), ("b", 2)))
    # The whole place counted by rule: the same block, the record without a date left out.
    with pytest.raises(block_limits.BlockTooLarge) as whole:
        block_limits.check(con, "place", rules, limit=4)
    assert whole.value.block == raised.value.block


def test_a_rule_across_two_fields_is_named_as_written() -> None:
    # Record 6's forename is the surname of records 0–5 and 7: one record against six others.
    con = _toy([(6, r) for r in (0, 1, 2, 3, 4, 5, 7)])
    rule = "l.forename = r.surname"
    with pytest.raises(block_limits.BlockTooLarge) as raised:
        block_limits.check_pairs(con, "pairs", "place", [rule], limit=6)
    assert raised.value.block.records == 8 and raised.value.block.rule == rule
    assert f"8 records are put together by the blocking rule {rule} (5 in a, 3 in b)" in str(raised.value)
    # Before pairing, the rule's largest block: one forename LEE against seven surnames LEE
    # makes 7 pairs, below the 10 of a block of 5 records alike, above the 6 of one of 4.
    block_limits.check(con, "place", [rule], limit=5)
    with pytest.raises(block_limits.BlockTooLarge) as crossing:
        block_limits.check(con, "place", [rule], limit=4)
    assert crossing.value.block == block_limits.LargeBlock((), 8, (("a", 5), ("b", 3)), rule=rule, pairs=7)
    assert block_limits.side_fields("l.previous_surname = r.surname AND l.forename = r.forename") == (
        ("previous_surname", "forename"), ("surname", "forename"))
    assert block_limits.side_fields("l.dob = r.birth_year || '-01-01' AND l.surname = r.surname") is None


def _plant_previous(con: duckdb.DuckDBPyConnection) -> None:
    """ALIKE records with one forename and previous surname, each with its own surname, date
    of birth, postcode and NHS number, and as many OLIVER HARTLEYs: no rule of one field on
    both sides puts either group together, but the rule pairing a previous surname with the
    other's surname compares every one of the first with every one of the second."""
    rng = random.Random(4)
    for i in range(ALIKE):  # and as many OLIVER HARTLEYs, each born on another day
        con.execute(
            "INSERT INTO records SELECT * REPLACE (? AS record_id, 'OLIVER' AS forename, 'HARTLEY' AS "
            "surname, NULL AS previous_surname, ? AS date_of_birth, ? AS postcode, ? AS nhs_number) "
            "FROM records WHERE source = 'emergency_department' LIMIT 1",
            [f"NOW-{i}", f"19{50 + i}-04-1{i % 9 + 1}", f"NB{i % 9 + 1} {i % 10}{chr(65 + i % 26)}C",
             nhs_number(rng)],
        )  # fmt: skip
        con.execute(
            "INSERT INTO records SELECT * REPLACE (? AS record_id, 'OLIVER' AS forename, ? AS surname, "
            "'HARTLEY' AS previous_surname, ? AS date_of_birth, ? AS postcode, ? AS nhs_number) "
            "FROM records WHERE source = 'community_mental_health' LIMIT 1",
            [f"PREV-{i}", f"SURNAME{chr(65 + i % 26)}{chr(65 + i // 26)}", f"19{50 + i}-03-0{i % 9 + 1}",
             f"NB{i % 9 + 1} {i % 10}{chr(65 + i % 26)}B", nhs_number(rng)],
        )  # fmt: skip


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_records_with_one_previous_surname_in_thousands_stop_the_run(place: Path, mode: str) -> None:
    con = copy_store(place, f"previous_{mode}")
    try:
        _plant_previous(con)
        message = _refused(con, place, mode=mode)
        assert "are put together by the blocking rule" in message and "previous_surname" in message
        assert f"would make {ALIKE * ALIKE:,} pairs" in message or mode == "incremental"
        assert "HARTLEY" not in message.upper()
    finally:
        con.close()
