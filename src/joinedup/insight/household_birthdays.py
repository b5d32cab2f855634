"""How often two different people of one surname at one postcode share a date of birth,
measured on the place's own records: the u of the model's household birthday comparison
(``model._household_birthday``), whose level (the same date of birth and postcode, the
surname the same or a typo away) corrects what the date of birth is worth for such a pair.

Splink takes a pair's agreements as independent given whether it is a match, so a pair that
shares a surname, a postcode and a date of birth scored the three agreements' weights added
up: about 30 bits, where the date of birth alone counted for 13. That is right for strangers,
who share a birthday about one time in 25,000. It is wrong for people who live together
under one name: there a shared birthday means twins, far more often than among strangers,
and twins were merged into one person (docs/benchmarks.md, the hard place).

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

import duckdb
import pyarrow as pa

__all__ = ["PSEUDO_PAIRS", "shared_birthday_u"]

# Prior weight, in pairs, of the share among all pairs of different people: a place with a
# few hundred pairs of one name and home is measured mostly on its own pairs.
PSEUDO_PAIRS = 100.0

_NEEDED = ("surname", "postcode", "dob")


def shared_birthday_u(frame: pa.Table) -> float | None:
    """The u of the household birthday level for the model input ``frame``, or None when it
    has no identifier to tell two people apart by, or no two such people."""
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
            row = con.execute(
                f"SELECT (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM people "  # noqa: S608
                f"GROUP BY {group})) - (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n "
                f"FROM people GROUP BY {same}))"
            ).fetchone()
            return float(row[0]) if row else 0.0

        strangers, birthday = different([]), different(["dob"])
        if strangers <= 0:
            return None
        everyone = max(birthday, 1.0) / strangers  # never nought: a weight must stay finite
        at_home, twins = different(["surname", "postcode"]), different(["surname", "postcode", "dob"])
    finally:
        con.close()
    return max(everyone, (twins + PSEUDO_PAIRS * everyone) / (at_home + PSEUDO_PAIRS))


def _held(frame: pa.Table, column: str) -> int:
    return frame.num_rows - frame.column(column).null_count
