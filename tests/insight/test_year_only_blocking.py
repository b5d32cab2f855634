"""A record whose date of birth is held as 1 January (its day unknown, as many UK systems
store a year alone) is blocked with the records born that year of the same surname, or of the
same forename and surname initial.

Before these rules, such a record met a record of the same person only when the other was
born in January too, or the name was rare enough for a rare-value key: on a hard synthetic
place (40,000 records, seed 1) 1,428 of the 2,227 true pairs missed among records with only a
name and a year of birth were pairs these rules make. Both Splink's blocking (the full run)
and the incremental path's own joins must make exactly the expected pairs, in Splink's
order (the smaller unique id on the left), whichever record sorts first.

The rules first asked for the whole name. On the same place (fourteenth session) 70 of the 83
name-and-year records still apart from their person scored below 0.5 or were never compared,
most with a typo or a nickname in one name (PETTER ELMBY, SARAH LWOE); with one name (or the
forename and the surname's initial) the hard place's F1 rose from 0.9877 to 0.9891, 0.9882 and
0.9889 on seeds 1 to 3 (docs/benchmarks.md)."""

from __future__ import annotations

from tests.support.blocking import incremental_pairs, model_input, splink_pairs

PRESENT = frozenset({"forename", "surname", "dob"})

# unique id, forename, surname, date of birth
RECORDS = [
    ("a|1", "ANN", "SMITH", "1980-01-01"),  # the year alone, held as 1 January
    ("z|1", "ANN", "SMITH", "1980-06-15"),  # same name, that year: sorts after a|1
    ("0|1", "ANN", "SMITH", "1980-07-20"),  # same name, that year: sorts before a|1
    ("c|1", "ANN", "SMITH", "1981-03-03"),  # another year
    ("d|1", "ANNE", "SMITH", "1980-05-05"),  # another forename (a typo, a nickname), the surname
    ("e|1", "ANN", "SMYTH", "1980-09-09"),  # another surname with the same initial
    ("f|1", "ANN", "JONES", "1980-10-10"),  # the forename alone
    ("g|1", "MARY", "JONES", "1980-11-11"),  # neither name
]
EXPECTED = {("0|1", "a|1"), ("a|1", "z|1"), ("a|1", "d|1"), ("a|1", "e|1")}
FRAME = model_input([{"unique_id": u, "forename": f, "surname": s, "dob": d} for u, f, s, d in RECORDS])


def test_splinks_blocking_pairs_a_year_held_as_1_january_with_a_name_that_year() -> None:
    assert splink_pairs(FRAME, PRESENT) == EXPECTED


def test_the_incremental_joins_make_the_same_pairs() -> None:
    for touched in ("a|1", "z|1", "0|1", "d|1", "e|1", "f|1"):  # the year-only record new, or the other
        assert incremental_pairs(FRAME, PRESENT, touched) == {p for p in EXPECTED if touched in p}, touched
