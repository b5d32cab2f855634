"""The best pairwise F1 the records of a synthetic place allow: an upper bound for any linker.

A record whose own person's records agree with it no better, field by field, than a record
of another person does is a tie: nothing in the records says which of the two it belongs to,
and a linker can only leave it alone or guess. This module finds those ties and prices them
for an oracle that knows the truth for every other record, so what it gives is a ceiling no
linker reading the same records can pass in expectation, however good its model.

For each record and each other record, every field the model compares is given a level of
agreement (see ``LEVELS``: exact above close above different, a missing value in between at
nought). The record's *own evidence* is, field by field, the best level any other record of
its own person reaches (generous to the linker: one person's records are read together). A
record of another person *ties* with it when it reaches at least that level on every field.
Candidates are found through the strongest exact agreement the own evidence holds (an
identifier, the full date of birth, or a name with the year); a record whose own evidence
holds none of these is counted as settled, which only raises the ceiling.

A record tied with ``k - 1`` other persons is its own person's with probability at most
``1 / k``. The oracle then either leaves it alone (losing its pairs with its own person's
settled records) or guesses (losing them with probability ``(k - 1) / k``, and making false
pairs with the smallest tied person at the same odds), whichever loses fewer pairs. Pairs
between two tied records of one person are counted as kept, again in the linker's favour.

``bench/evidence_ceiling.py`` runs it on a kept place (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from joinedup.insight.store import one

__all__ = ["Ceiling", "measure", "records_of_place"]


@dataclass(frozen=True)
class Ceiling:
    """What the ties cost an oracle: ``f1`` is the ceiling; ``by_kind`` (kind, tied records,
    missed pairs, false pairs), the costliest first."""

    records: int
    true_pairs: int
    tied: int
    missed: float
    false: float
    f1: float
    by_kind: list[tuple[str, int, float, float]]


def _close(a: str, b: str, near: int) -> str:
    return f"damerau_levenshtein({a}, {b}) <= {near}"


def _forename(a: str, b: str, a_names: str, b_names: str) -> str:
    """Exact 3; a nickname of the other or one edit 2; two edits 1; different -1; missing 0."""
    return f"""CASE WHEN {a} IS NULL OR {b} IS NULL THEN 0 WHEN {a} = {b} THEN 3
        WHEN coalesce(list_contains({a_names}, {b}) OR list_contains({b_names}, {a}), false)
             OR {_close(a, b, 1)} THEN 2
        WHEN {_close(a, b, 2)} THEN 1 ELSE -1 END"""


def _surname(a: str, b: str, a_before: str, b_before: str) -> str:
    """Exact, or one's previous surname the other's, 3; one edit 2; two edits 1."""
    return f"""CASE WHEN {a} IS NULL OR {b} IS NULL THEN 0
        WHEN {a} = {b} OR coalesce({a} = {b_before} OR {a_before} = {b}, false) THEN 3
        WHEN {_close(a, b, 1)} THEN 2 WHEN {_close(a, b, 2)} THEN 1 ELSE -1 END"""


def _equal(field: str) -> str:
    return (
        f"CASE WHEN a.{field} IS NULL OR b.{field} IS NULL THEN 0 "
        f"WHEN a.{field} = b.{field} THEN 1 ELSE -1 END"
    )


# The level of agreement of records a and b on each field but the names: higher is stronger
# evidence that they are one person; 0 a value missing on either side; -1 one that differs.
LEVELS: dict[str, str] = {
    "dob": """CASE WHEN a.dob IS NULL OR b.dob IS NULL THEN 0 WHEN a.dob = b.dob THEN 4
        WHEN a.birth_year = b.birth_year AND (a.dob LIKE '%-01-01' OR b.dob LIKE '%-01-01') THEN 3
        WHEN a.dob_transposed = b.dob OR damerau_levenshtein(a.dob, b.dob) <= 1 THEN 2
        WHEN a.birth_year = b.birth_year THEN 1 ELSE -1 END""",
    "sex": _equal("sex"),
    "postcode": """CASE WHEN a.postcode IS NULL OR b.postcode IS NULL THEN 0
        WHEN a.postcode = b.postcode THEN 2
        WHEN a.postcode_district = b.postcode_district THEN 1 ELSE -1 END""",
    "address": f"""CASE WHEN a.address_line IS NULL OR b.address_line IS NULL THEN 0
        WHEN a.address_line = b.address_line THEN 2
        WHEN {_close("a.address_line", "b.address_line", 3)} THEN 1 ELSE -1 END""",
    "nhs_number": _equal("nhs_number"),
    "ni_number": _equal("ni_number"),
    "uprn": _equal("uprn"),
}


def _levels() -> str:
    """The select list of a pair's levels (a, b aliases of ``rec``), the names read straight
    and swapped between the fields, the better reading kept."""
    straight = (_forename("a.fn", "b.fn", "a.fn_names", "b.fn_names"),
                _surname("a.sn", "b.sn", "a.previous_surname", "b.previous_surname"))  # fmt: skip
    crossed = (
        _forename("a.fn", "b.sn", "a.fn_names", "NULL::VARCHAR[]"),
        _surname("a.sn", "b.fn", "NULL", "NULL"),
    )
    better = f"({straight[0]}) + ({straight[1]}) >= ({crossed[0]}) + ({crossed[1]})"
    names = ", ".join(
        f"CASE WHEN {better} THEN {s} ELSE {c} END AS {f}"
        for f, s, c in zip(("forename", "surname"), straight, crossed, strict=True)
    )
    return names + ", " + ", ".join(f"{sql} AS {field}" for field, sql in LEVELS.items())


FIELDS = ["forename", "surname", *LEVELS]

# The exact agreement a tying record must share, strongest first (its own evidence holds it).
ANCHORS = (
    ("nhs_number = 1", "b.nhs_number = a.nhs_number"),
    ("ni_number = 1", "b.ni_number = a.ni_number"),
    ("uprn = 1", "b.uprn = a.uprn"),
    ("dob = 4", "b.dob = a.dob"),
    ("forename = 3 AND dob IN (1, 3)", "b.fn = a.fn AND b.birth_year = a.birth_year"),
    ("surname = 3 AND dob IN (1, 3)", "b.sn = a.sn AND b.birth_year = a.birth_year"),
)


def records_of_place(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary table ``rec`` from a kept place's model input (``link_input_cache``) and the
    temporary tables ``truth`` (uid, person) and ``hard`` (uid, kind) of
    ``evaluate.register_truth``: what ``measure`` reads."""
    con.execute(
        """
        CREATE TEMP TABLE rec AS
        SELECT c.unique_id AS uid, t.person, coalesce(h.kind, 'ordinary') AS kind,
               c.forename AS fn, c.surname AS sn, c.forename_names AS fn_names, c.previous_surname,
               c.dob, c.dob_transposed, c.birth_year, c.sex, c.postcode, c.postcode_district,
               c.address_line, c.nhs_number, c.ni_number, c.uprn
        FROM link_input_cache c JOIN truth t ON t.uid = c.unique_id
        LEFT JOIN (SELECT uid, min(kind) AS kind FROM hard GROUP BY uid) h ON h.uid = c.unique_id
        """
    )


def measure(con: duckdb.DuckDBPyConnection) -> Ceiling:
    """The ceiling of the records in ``rec`` (uid, person, kind and the model's fields)."""
    sizes = "SELECT count(*) AS n FROM rec GROUP BY person"
    total = one(con.execute(f"SELECT sum(n * (n - 1) / 2) FROM ({sizes})"))  # noqa: S608
    true_pairs = int(total[0] or 0) if total else 0
    # Own evidence: field by field, the best level among the record's own person's records.
    con.execute(
        f"""
        CREATE TEMP TABLE own AS
        SELECT a.uid, {", ".join(f"max({f}) AS {f}" for f in FIELDS)}
        FROM (SELECT a.uid, {_levels()} FROM rec a JOIN rec b ON a.person = b.person AND a.uid <> b.uid) a
        GROUP BY a.uid
        """  # noqa: S608
    )
    anchor = "CASE " + " ".join(f"WHEN {test} THEN {i}" for i, (test, _) in enumerate(ANCHORS)) + " END"
    con.execute(f"CREATE TEMP TABLE anchored AS SELECT o.*, {anchor} AS anchor FROM own o")  # noqa: S608
    beats = " AND ".join(f"c.{f} >= o.{f}" for f in FIELDS)
    candidates = " UNION ALL ".join(
        f"""SELECT o.uid, b.person, {_levels()} FROM anchored o JOIN rec a ON a.uid = o.uid AND o.anchor = {i}
            JOIN rec b ON {join} AND b.person <> a.person"""
        for i, (_, join) in enumerate(ANCHORS)
    )
    con.execute(
        f"""CREATE TEMP TABLE tied AS SELECT DISTINCT c.uid, c.person
            FROM ({candidates}) c JOIN anchored o ON o.uid = c.uid WHERE {beats}"""  # noqa: S608
    )
    con.execute(
        """
        CREATE TEMP TABLE sizes AS SELECT person, count(*) AS n FROM rec GROUP BY person;
        CREATE TEMP TABLE tie AS
        SELECT t.uid, count(*) + 1 AS k, min(s.n) AS smallest
        FROM tied t JOIN sizes s USING (person) GROUP BY t.uid;
        CREATE TEMP TABLE settled AS
        SELECT person, count(*) AS n FROM rec WHERE uid NOT IN (SELECT uid FROM tie) GROUP BY person;
        CREATE TEMP TABLE priced AS
        SELECT r.uid, r.kind, t.k, t.smallest, coalesce(s.n, 0) AS settled
        FROM tie t JOIN rec r USING (uid) LEFT JOIN settled s USING (person);
        """
    )
    # Leave alone: every pair with the settled records is missed. Guess: missed, and as many
    # false pairs with the smallest tied person, with probability (k - 1) / k.
    con.execute(
        """
        CREATE TEMP TABLE loss AS
        SELECT uid, kind,
               CASE WHEN settled <= (k - 1.0) / k * (settled + smallest) THEN settled
                    ELSE (k - 1.0) / k * settled END AS missed,
               CASE WHEN settled <= (k - 1.0) / k * (settled + smallest) THEN 0
                    ELSE (k - 1.0) / k * smallest END AS false_
        FROM priced
        """
    )
    row = one(con.execute("SELECT count(*), coalesce(sum(missed), 0), coalesce(sum(false_), 0) FROM loss"))
    tied_records, missed, false = (row[0], float(row[1]), float(row[2])) if row else (0, 0.0, 0.0)
    kept = true_pairs - missed
    ceiling = 2 * kept / (2 * kept + missed + false) if true_pairs else 1.0
    records = one(con.execute("SELECT count(*) FROM rec"))
    by_kind = con.execute(
        "SELECT kind, count(*), sum(missed), sum(false_) FROM loss GROUP BY kind ORDER BY 3 DESC, 1"
    ).fetchall()
    return Ceiling(
        int(records[0]) if records else 0, true_pairs, int(tied_records), missed, false, ceiling,
        [(str(k), int(n), float(m), float(f)) for k, n, m, f in by_kind],
    )  # fmt: skip
