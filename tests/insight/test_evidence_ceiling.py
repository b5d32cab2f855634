"""The evidence ceiling on places small enough to price by hand."""

from __future__ import annotations

import duckdb
import pytest

from joinedup.insight.evidence_ceiling import measure

_COLUMNS = (
    "uid VARCHAR, person VARCHAR, kind VARCHAR, fn VARCHAR, sn VARCHAR, fn_names VARCHAR[], "
    "previous_surname VARCHAR, dob VARCHAR, dob_transposed VARCHAR, birth_year VARCHAR, sex VARCHAR, "
    "postcode VARCHAR, postcode_district VARCHAR, address_line VARCHAR, nhs_number VARCHAR, "
    "ni_number VARCHAR, uprn VARCHAR"
)


def _record(uid: str, person: str, fn: str, dob: str, *, kind: str = "ordinary", nhs: str | None = None,
            postcode: str | None = None) -> tuple[object, ...]:  # fmt: skip
    return (uid, person, kind, fn, "HALLGATE", [], None, dob, None, dob[:4], "F",
            postcode, postcode.split()[0] if postcode else None, None, nhs, None, None)  # fmt: skip


def _place(rows: list[tuple[object, ...]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TEMP TABLE rec ({_COLUMNS})")  # noqa: S608
    con.executemany(f"INSERT INTO rec VALUES ({', '.join('?' * 17)})", rows)  # noqa: S608
    return con


def _people(thin_sarah_born: str) -> list[tuple[object, ...]]:
    """Sarah A (two full records and one with only a name and a year), Sarah B (one full
    record, born the same year), and Mary (three full records)."""
    return [
        _record("a1", "A", "SARAH", "1956-11-05", nhs="4010232137", postcode="NB1 2AA"),
        _record("a2", "A", "SARAH", "1956-11-05", nhs="4010232137", postcode="NB1 2AA"),
        _record("a3", "A", "SARAH", thin_sarah_born, kind="name_and_year"),
        _record("b1", "B", "SARAH", "1956-03-14", nhs="4010232145", postcode="NB4 7QT"),
        _record("m1", "M", "MARY", "1960-02-02", nhs="4010232153", postcode="NB3 1BB"),
        _record("m2", "M", "MARY", "1960-02-02", nhs="4010232153", postcode="NB3 1BB"),
        _record("m3", "M", "MARY", "1960-02-02", nhs="4010232153", postcode="NB3 1BB"),
    ]


def test_a_record_only_a_namesake_could_also_hold_is_priced_as_a_tie() -> None:
    # a3 (SARAH HALLGATE, 1956, day unknown) agrees with Sarah B exactly as well as with her
    # own records: k = 2. Left alone it misses its 2 pairs with a1 and a2; a guess would miss
    # them half the time and join B's 1 record half the time (1.5 pairs): the oracle guesses.
    found = measure(_place(_people("1956-01-01")))
    true_pairs = 3 + 3  # A's three records, M's three
    assert (found.records, found.true_pairs, found.tied) == (7, true_pairs, 1)
    assert found.missed == pytest.approx(1.0) and found.false == pytest.approx(0.5)
    kept = true_pairs - 1.0
    assert found.f1 == pytest.approx(2 * kept / (2 * kept + 1.0 + 0.5))
    assert found.by_kind == [("name_and_year", 1, pytest.approx(1.0), pytest.approx(0.5))]


def test_a_record_its_own_person_matches_better_is_no_tie() -> None:
    # With its full date of birth a3 agrees with its own records better than with Sarah B's.
    found = measure(_place(_people("1956-11-05")))
    assert (found.tied, found.missed, found.false, found.f1) == (0, 0, 0, 1.0)
