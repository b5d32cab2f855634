"""How often two different people of one surname at one postcode share a date of birth (or
have near ones), and how often two different people at one postcode share a surname,
measured on the place's own records: the u's of the model's two household corrections
(``household_comparisons``). The first (the same date of birth and postcode, the surname the
same or a typo away) corrects what the date of birth is worth for such a pair; the second
(the same surname and postcode) what the surname is worth.

Splink takes a pair's agreements as independent given whether it is a match, so a pair that
shares a surname, a postcode and a date of birth scored the three agreements' weights added
up: about 30 bits, where the date of birth alone counted for 13. That is right for strangers,
who share a birthday about one time in 25,000. It is wrong for people who live together
under one name: there a shared birthday means twins, far more often than among strangers,
and twins were merged into one person (docs/benchmarks.md, the hard place). The surname is the
same at one remove: people who share a postcode share a surname far more often than
strangers do, because families live together, so a twin at home still collected the
surname's full weight on top of the home's.

Random sampling cannot measure this (it almost never draws two people of one surname at one
postcode), so it is counted here, on pairs that are surely different people because their
NHS numbers (or, without them, National Insurance numbers) differ: of those sharing a
surname and a postcode, the share that also share a date of birth. Counting is by groups,
n(n-1)/2 pairs in a group less those with the same identifier, so it costs a few GROUP BYs
and never a join of pairs. With few such pairs the share is pulled towards the share among
all pairs of different people (PSEUDO_PAIRS of them), and it is never taken below that
share: people of one name and home are not less likely to share a birthday than strangers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from joinedup.insight import date_levels
from joinedup.insight.store import one

__all__ = ["PSEUDO_PAIRS", "HouseholdShares", "household_shares", "shared_birthday_u"]

# Prior weight, in pairs, of the share among all pairs of different people: a place with a
# few hundred pairs of one name and home is measured mostly on its own pairs.
PSEUDO_PAIRS = 100.0

_NEEDED = ("surname", "postcode", "dob")


@dataclass(frozen=True)
class HouseholdShares:
    """The u's counted before training: a shared birthday among different people of one
    surname and postcode, and a shared surname among different people at one postcode; and
    the counts for the near dates' u's, set at training (``near_u``)."""

    birthday: float
    surname: float
    # Pairs of different people of one (exact) surname and postcode, and of them those whose
    # dates of birth fall in each near level of ``date_levels.NEAR`` (by label).
    at_home: float = 0.0
    near: dict[str, float] = field(default_factory=dict)

    def near_u(self, level: str, everyone: float) -> float:
        """The u of the correction for the near level ``level``, given its share among all
        pairs (``everyone``, the plain level's u between random records)."""
        return _pulled(self.near.get(level, 0.0), self.at_home, everyone)


def shared_birthday_u(frame: pa.Table) -> float | None:
    """The u of the household birthday level for the model input ``frame``, or None when it
    has no identifier to tell two people apart by, or no two such people."""
    shares = household_shares(frame)
    return shares.birthday if shares else None


def household_shares(frame: pa.Table) -> HouseholdShares | None:
    """Both u's for the model input ``frame``, or None when it has no identifier to tell two
    people apart by, or no two such people."""
    identifier = next(
        (c for c in ("nhs_number", "ni_number") if c in frame.column_names and _held(frame, c) >= 2), None
    )
    if identifier is None or not all(c in frame.column_names for c in _NEEDED):
        return None
    con = duckdb.connect(":memory:")
    try:
        held = " AND ".join(f"{c} IS NOT NULL" for c in (identifier, *_NEEDED))
        con.register("_frame", frame.select([identifier, *_NEEDED]))
        con.execute(f"CREATE TABLE people AS SELECT * FROM _frame WHERE {held}")  # noqa: S608

        def different(columns: list[str]) -> float:
            """Pairs of records with the same ``columns`` and different identifiers."""
            group = ", ".join(columns) or "NULL"
            same = ", ".join([*columns, identifier])
            row = one(con.execute(
                f"SELECT (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM people "  # noqa: S608
                f"GROUP BY {group})) - (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n "
                f"FROM people GROUP BY {same}))"
            ))
            return float(row[0]) if row else 0.0

        strangers = different([])
        if strangers <= 0:
            return None
        # Never nought: a weight must stay finite.
        birthday = _pulled(different(["surname", "postcode", "dob"]), different(["surname", "postcode"]),
                           max(different(["dob"]), 1.0) / strangers)  # fmt: skip
        surname = _pulled(different(["postcode", "surname"]), different(["postcode"]),
                          max(different(["surname"]), 1.0) / strangers)  # fmt: skip
        near = _near_dates(con, identifier)
        at_home = different(["surname", "postcode"])
    finally:
        con.close()
    return HouseholdShares(birthday=birthday, surname=surname, at_home=at_home, near=near)


def _near_dates(con: duckdb.DuckDBPyConnection, identifier: str) -> dict[str, float]:
    """Of the pairs of different people of one surname and postcode, how many have dates of
    birth in each near level, the levels tried in the model's order. A join, but only within
    one surname at one postcode: a few pairs a household."""
    row = one(con.execute(
        f"""
        WITH pairs AS (
            SELECT l.dob AS dob_l, r.dob AS dob_r FROM people l JOIN people r
              ON l.surname = r.surname AND l.postcode = r.postcode AND l.rowid < r.rowid
            WHERE l.{identifier} <> r.{identifier} AND l.dob <> r.dob
        ), levels AS (
            SELECT CASE
                WHEN {date_levels.DAY_APART_SQL} THEN 'day'
                WHEN {date_levels.TRANSPOSED_SQL} THEN 'transposed'
                WHEN damerau_levenshtein(dob_l, dob_r) <= 1 THEN 'one_digit'
                WHEN {date_levels.HELD_AS_1_JANUARY_SQL} THEN 'year'
                WHEN {date_levels.SAME_DAY_AND_MONTH_SQL} THEN 'day_and_month'
            END AS level FROM pairs
        )
        SELECT count(*) FILTER (level = 'day'), count(*) FILTER (level = 'transposed'),
               count(*) FILTER (level = 'one_digit'), count(*) FILTER (level = 'day_and_month')
        FROM levels
        """  # noqa: S608
    ))
    counts = row if row else (0, 0, 0, 0)
    return {label: float(n) for label, n in zip(date_levels.NEAR, counts, strict=True)}


def _pulled(sharing: float, at_home: float, everyone: float) -> float:
    """The share ``sharing / at_home``, pulled towards ``everyone`` by PSEUDO_PAIRS pairs and
    never below it: people of one home are not less alike than strangers."""
    return max(everyone, (sharing + PSEUDO_PAIRS * everyone) / (at_home + PSEUDO_PAIRS))


def _held(frame: pa.Table, column: str) -> int:
    return frame.num_rows - frame.column(column).null_count
