"""The place-wide "nearby cohort" rule: two accounts whose analysed cohorts differ by a few
people must not both be published.

Each account's controlled copy resists differencing against its own earlier copies (sticky
sizes, see joinedup.value.published), but two collaborations of one place are separate
accounts: an analyst could define two programmes a few people apart, and a lead reading both
could subtract their sizes, event counts or money to learn about the people in between. So
every computed account's analysed cohort (the programme persons it followed) is kept in the
place's insight store, never in the app database, and when a new account's cohort differs
from a published account's by more than nothing but fewer than the place's disclosure
threshold, the new account's controlled copy is withheld. Identical cohorts publish
identical figures and give nothing away; cohorts at least the threshold apart differ by a
publishable number of people.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from joinedup.insight.disclosure import DisclosureRule

__all__ = ["nearby_reason", "record_cohort"]

_DDL = (
    "CREATE TABLE IF NOT EXISTS value_cohorts (account VARCHAR, person_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS value_cohort_state (account VARCHAR PRIMARY KEY, withheld BOOLEAN)",
)


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    for sql in _DDL:
        con.execute(sql)


def nearby_reason(
    con: duckdb.DuckDBPyConnection, account: str, persons: list[str], rule: DisclosureRule
) -> str | None:
    """Why ``account``'s controlled copy must be withheld, or None: its cohort differs from
    another published account's by 1 to threshold − 1 people."""
    _ensure(con)
    mine = set(persons)
    others = con.execute(
        "SELECT c.account, c.person_id FROM value_cohorts c JOIN value_cohort_state s USING (account) "
        "WHERE c.account <> ? AND NOT s.withheld",
        [account],
    ).fetchall()
    cohorts: dict[str, set[str]] = {}
    for other, person in others:
        cohorts.setdefault(other, set()).add(person)
    for cohort in cohorts.values():
        if 0 < len(mine ^ cohort) < rule.threshold:
            return (
                "This account is withheld: the people it follows differ from those of another "
                f"published account of this place by fewer than {rule.threshold} people, so "
                "comparing the two could reveal something about those few people. An analyst "
                "can change who is counted so that the two are the same people or further apart."
            )
    return None


def record_cohort(
    con: duckdb.DuckDBPyConnection, account: str, persons: list[str], *, withheld: bool
) -> None:
    """Keep the account's analysed cohort (person ids stay in the insight store)."""
    _ensure(con)
    con.execute("DELETE FROM value_cohorts WHERE account = ?", [account])
    con.execute("DELETE FROM value_cohort_state WHERE account = ?", [account])
    frame = pd.DataFrame({"account": account, "person_id": sorted(set(persons))})
    con.register("w_value_cohort", frame)
    try:
        con.execute("INSERT INTO value_cohorts SELECT account, person_id FROM w_value_cohort")
    finally:
        con.unregister("w_value_cohort")
    con.execute("INSERT INTO value_cohort_state VALUES (?, ?)", [account, withheld])
