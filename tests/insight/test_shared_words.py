"""The address level for the words two address lines share, in any order: what DuckDB makes
of it on the model input as prepared, that its word fingerprint only skips pairs that share no
word (so the level is exact), the SQL Spark gets, and Spark's copy of the fingerprint."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from splink.internals.dialects import SplinkDialect

from joinedup.insight import model as link_model
from joinedup.insight.model_input import prepare_input
from joinedup.insight.splink_backend import _spark_rows
from joinedup.insight.store import connect

LEVELS = ((3, 4), (1, 2), (1, 3))


def _prepared(tmp_path: Path, lines: list[str | None]) -> pa.Table:
    con = connect(tmp_path / "p.duckdb", memory_limit="1GB", threads=1)
    try:
        con.executemany(
            "INSERT INTO records (source, record_id, surname, address_line) VALUES ('s', ?, 'SMITH', ?)",
            [[f"{i:04d}", line] for i, line in enumerate(lines)],
        )
        return prepare_input(con)
    finally:
        con.close()


def _levels_held(con: duckdb.DuckDBPyConnection, levels: tuple[tuple[int, int], ...]) -> str:
    """SQL for the pairs of ``_input`` (each with itself and every other) with, per level,
    whether the pair reaches it."""
    dialect = SplinkDialect.from_string("duckdb")
    levels_sql = [
        link_model.SharedWordsLevel("address_words", "address_bits", n, d).create_sql(dialect)
        for n, d in levels
    ]
    held = ", ".join(
        f"coalesce({s}, false) AS level_{n}_{d}" for s, (n, d) in zip(levels_sql, levels, strict=True)
    )
    return (
        f"SELECT l.unique_id AS id_l, r.unique_id AS id_r, {held} FROM ("  # noqa: S608
        "SELECT unique_id, address_words AS address_words_l, address_bits AS address_bits_l FROM _input) l "
        "CROSS JOIN (SELECT unique_id, address_words AS address_words_r, address_bits AS address_bits_r "
        "FROM _input) r"
    )


@pytest.mark.parametrize(
    ("left", "right", "levels"),
    [
        # A house number dropped: 7 words shared of 8 and 7 (Dice 0.93).
        ("2 OUTTRIM AVENUE GOWRIE CROWS NEST SA 2260", "OUTTRIM AVENUE GOWRIE CROWS NEST SA 2260",
         {(3, 4), (1, 2), (1, 3)}),
        # Lines reordered, nothing else changed: every word shared.
        ("1 GALLOWAY STREET AGARABI", "1 AGARABI GALLOWAY STREET", {(3, 4), (1, 2), (1, 3)}),
        # Another street of the same kind: 2 of 3 + 3 words (Dice 0.67).
        ("12 HIGH STREET", "12 MILL STREET", {(1, 2), (1, 3)}),
        # Only the street type in common: 1 of 3 + 3 (Dice 0.33).
        ("12 HIGH STREET", "40 MILL STREET", {(1, 3)}),
        ("12 HIGH STREET", "3 MILL ROAD", set()),
        # A word repeated counts once.
        ("7 HIGH HIGH STREET", "7 HIGH STREET", {(3, 4), (1, 2), (1, 3)}),
        ("12 HIGH STREET", None, set()),
    ],
)  # fmt: skip
def test_shared_words_levels_on_the_prepared_input(
    tmp_path: Path, left: str, right: str | None, levels: set[tuple[int, int]]
) -> None:
    con = duckdb.connect()
    con.register("_input", _prepared(tmp_path, [left, right]))
    rows = con.execute(_levels_held(con, LEVELS) + " WHERE l.unique_id = 's|0000' AND r.unique_id = 's|0001'")
    (row,) = rows.fetchall()
    assert {level for level, reached in zip(LEVELS, row[2:], strict=True) if reached} == levels


def test_the_fingerprint_skips_only_pairs_that_share_no_word(tmp_path: Path) -> None:
    # Many short lines from a small vocabulary, so that every share of words occurs: the level
    # with the fingerprint's test must agree, pair by pair, with the plain Dice coefficient.
    rng = random.Random(3)
    vocabulary = [f"W{i}" for i in range(40)]
    lines = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 6))) for _ in range(150)]
    con = duckdb.connect()
    frame = _prepared(tmp_path, lines)
    con.register("_input", frame)
    pairs = con.execute(_levels_held(con, LEVELS)).fetchall()
    words = dict(zip(frame.column("unique_id").to_pylist(), frame.column("address_words").to_pylist(),
                     strict=True))  # fmt: skip
    reached = 0
    for id_l, id_r, *held in pairs:
        a, b = set(words[id_l]), set(words[id_r])
        dice = 2 * len(a & b) / (len(a) + len(b))
        assert held == [dice >= n / d for n, d in LEVELS], (id_l, id_r)
        reached += sum(held)
    assert reached > len(pairs) // 10  # the levels were reached, not skipped throughout


def test_the_words_are_sorted_and_each_held_once(tmp_path: Path) -> None:
    frame = _prepared(tmp_path, ["9 ZETA ALPHA ZETA ROAD"])
    assert frame.column("address_words").to_pylist() == [["9", "ALPHA", "ROAD", "ZETA"]]


def test_shared_words_level_is_written_for_spark() -> None:
    level = link_model.SharedWordsLevel("address_words", "address_bits", 1, 2)
    assert level.create_sql(SplinkDialect.from_string("spark")) == (
        "(address_bits_l & address_bits_r) <> 0 AND SIZE(ARRAY_INTERSECT(address_words_l, address_words_r))"
        " * 4 >= 1 * (SIZE(address_words_l) + SIZE(address_words_r))"
    )


def test_spark_gets_the_fingerprint_whole() -> None:
    # pandas would hold this column as floats (it has a null), and a float keeps 53 bits.
    table = pa.table({"address_bits": pa.array([(1 << 62) + 1, None], pa.int64()), "words": [["A"], None]})
    assert _spark_rows(table) == [
        {"address_bits": (1 << 62) + 1, "words": ["A"]},
        {"address_bits": None, "words": None},
    ]


def test_the_two_date_of_birth_keys_are_blocked_on_only_with_an_address() -> None:
    def rules(present: frozenset[str]) -> list[str]:
        return [r.get_blocking_rule("duckdb").blocking_rule_sql for r in link_model.blocking_rules(present)]  # type: ignore[union-attr]

    with_address = rules(frozenset({"forename", "surname", "dob", "address_line"}))
    assert any("dob_end_key" in r for r in with_address)
    assert any("dob_street_key" in r for r in with_address)
    assert not any("dob_end_key" in r or "dob_street_key" in r for r in rules(frozenset({"surname", "dob"})))
