"""How many records one block of a blocking rule may hold before linking stops.

Splink compares every pair of records a blocking rule puts together. The rules are chosen so
that every block stays small on real extracts (exact names with a date of birth or a
postcode; rare-value keys capped at ``RARE_KEY_CAP``). A block of records alike in their
thousands is not real data: it is dummy or test records, or a migration that wrote one
person many times. 4,000 records with one date of birth and surname made 8 million
comparisons, 61 s and 4.9 GB (``bench/conflict_star.py``); 10,000 would be 50 million, more
memory than the machine has. So before any pair is scored, a block above the limit stops
the run with a message naming the rule's fields, how many records share them and which
extracts hold them. The persons stay as they were. The values themselves are not shown:
they are personal data, and the message reaches logs.

* A full link counts the largest block of each rule over the place (``check``).
* An incremental run counts the new and changed records' own blocks (``check`` on them,
  before the joins that pair them, which would otherwise be quadratic), then the pairs the
  joins made per record (``check_pairs``), which covers a few new records joining a large
  block already in the place.

``check`` counts the groups of rules that are equalities of one field on both sides
(``l.dob = r.dob AND l.surname = r.surname``). A block of a rule of a field against another
(``l.previous_surname = r.surname AND l.forename = r.forename``) is not one group of records:
it is the records of one value on the left against those of the same value on the right, so
``check`` counts its pairs (where the groups already counted do not bound them), and
``check_pairs`` names such a rule as written. Rare-value keys are not counted: common values
are left out of them, so their blocks never exceed ten records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from joinedup.insight.store import one

__all__ = [
    "DEFAULT_MAX_BLOCK",
    "BlockTooLarge",
    "LargeBlock",
    "check",
    "check_pairs",
    "equality_fields",
    "side_fields",
    "rule_sql",
]

# A person with more records than this in one place is already beyond any extract we have
# seen; the comparisons of one such block (two million) take seconds, not minutes.
DEFAULT_MAX_BLOCK = 2_000
SETTING = "JOINEDUP_LINK_MAX_BLOCK"


# The model input's field names as a user knows them (the rest are read with spaces).
_NAMES = {
    "dob": "date of birth", "nhs_number": "NHS number", "ni_number": "NI number",
    "birth_year_month": "year and month of birth", "birth_month_day": "day and month of birth",
    "house": "house number",
}  # fmt: skip


def plain_name(field: str) -> str:
    """A model input field as a user knows it (``dob`` is "date of birth")."""
    return _NAMES.get(field, field.replace("_", " "))


@dataclass(frozen=True)
class LargeBlock:
    """The largest block found above the limit: the rule's fields, how many records share
    its values, and how many of them each source holds (most first)."""

    fields: tuple[str, ...]
    records: int
    sources: tuple[tuple[str, int], ...]
    rule: str | None = None  # a rule that is not equalities of fields: named as written
    pairs: int | None = None  # the pairs it makes, where not every two of its records are paired

    def message(self, limit: int) -> str:
        fields = " and ".join(plain_name(f) for f in self.fields)
        where = ", ".join(f"{n:,} in {source}" for source, n in self.sources[:3])
        more = f" and {len(self.sources) - 3} more extracts" if len(self.sources) > 3 else ""
        pairs = self.pairs if self.pairs is not None else self.records * (self.records - 1) // 2
        alike = f"share one {fields}"
        if self.rule is not None:
            alike = f"are put together by the blocking rule {self.rule}"
        return (
            f"{self.records:,} records {alike} ({where}{more}), more than the "
            f"{limit:,} one block may hold (setting {SETTING}): comparing them all would make "
            f"{pairs:,} pairs. Records alike in such numbers are usually dummy or test records; "
            "correct or remove them in the extract and ingest it again. Nothing was linked and "
            "the persons are as they were."
        )


class BlockTooLarge(ValueError):
    """A blocking rule would compare more records with each other than the limit allows."""

    def __init__(self, block: LargeBlock, limit: int) -> None:
        super().__init__(block.message(limit))
        self.block, self.limit = block, limit


def rule_sql(rule: Any) -> str:
    """The SQL of a blocking rule as the stored model holds it (a dict) or as a Splink
    creator (``block_on``, ``CustomRule``)."""
    if isinstance(rule, dict):
        return str(rule["blocking_rule"])
    if isinstance(rule, str):
        return rule
    return str(rule.get_blocking_rule("duckdb").blocking_rule_sql)


def equality_fields(sql: str) -> tuple[str, ...] | None:
    """The fields of a rule that is only equalities of one field on both sides
    (``l.dob = r.dob AND l.surname = r.surname`` gives ("dob", "surname")), else None."""
    from sqlglot import exp

    from joinedup.insight.blocking_rules import parsed_rule

    parsed = parsed_rule(sql)
    if parsed is None:
        return None
    terms = parsed.flatten() if isinstance(parsed, exp.And) else [parsed]
    fields: list[str] = []
    for term in terms:
        term = term.unnest()
        if not (isinstance(term, exp.EQ) and isinstance(term.left, exp.Column)
                and isinstance(term.right, exp.Column)):  # fmt: skip
            return None
        if {term.left.table, term.right.table} != {"l", "r"} or term.left.name != term.right.name:
            return None
        fields.append(term.left.name)
    return tuple(dict.fromkeys(fields)) or None


def side_fields(sql: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The fields of each side of a rule that is only equalities of a field on one side with
    a field on the other (``l.previous_surname = r.surname AND l.forename = r.forename`` gives
    ("previous_surname", "forename") and ("surname", "forename")), else None."""
    from sqlglot import exp

    from joinedup.insight.blocking_rules import parsed_rule

    parsed = parsed_rule(sql)
    if parsed is None:
        return None
    terms = parsed.flatten() if isinstance(parsed, exp.And) else [parsed]
    sides: dict[str, list[str]] = {"l": [], "r": []}
    for term in terms:
        term = term.unnest()
        if not (isinstance(term, exp.EQ) and isinstance(term.left, exp.Column)
                and isinstance(term.right, exp.Column)):  # fmt: skip
            return None
        if {term.left.table, term.right.table} != {"l", "r"}:
            return None
        sides[term.left.table].append(term.left.name)
        sides[term.right.table].append(term.right.name)
    return tuple(dict.fromkeys(sides["l"])), tuple(dict.fromkeys(sides["r"]))


def _counted(rules: Iterable[Any], columns: Sequence[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for rule in rules:
        fields = equality_fields(rule_sql(rule))
        if fields and all(f in columns and not f.endswith("_key") for f in fields) and fields not in out:
            out.append(fields)
    return out


Crossing = tuple[str, tuple[str, ...], tuple[str, ...]]  # a rule's SQL, its left and right fields


def _crossed(rules: Sequence[Any], columns: Sequence[str]) -> list[Crossing]:
    """The rules of a field against another (``side_fields``) whose blocks the groups of
    ``_counted`` do not bound, with each side's fields; a rule and its mirror image once.

    Where each side holds the fields of a group counted already (``l.dob = r.dob AND
    l.forename = r.surname``: date of birth with forename, and with surname), each side's
    records of one value are at most the limit, so its blocks make at most the limit squared
    pairs, and counting them again would cost a second at a million records for nothing."""
    counted = [set(g) for g in _counted(rules, columns)]
    out: list[Crossing] = []
    seen: set[frozenset[tuple[str, ...]]] = set()
    for rule in rules:
        sql = rule_sql(rule)
        sides = None if equality_fields(sql) else side_fields(sql)
        if not sides or not all(f in columns and not f.endswith("_key") for side in sides for f in side):
            continue
        if all(any(g <= set(side) for g in counted) for side in sides) or frozenset(sides) in seen:
            continue
        seen.add(frozenset(sides))
        out.append((sql, *sides))
    return out


def _largest_crossing(
    con: duckdb.DuckDBPyConnection, place: str, rule: str, left: tuple[str, ...], right: tuple[str, ...],
    limit: int,
) -> LargeBlock | None:
    """The block of a rule of a field against another that makes the most pairs, if more than
    a block of ``limit`` records alike would: the records of one value on the left times
    those of the same value on the right. Neither side alone is a group to count (on the
    synthetic place of a million records 2,210 share one forename and surname, the right
    side of the previous surname's rule); their product is what comparing them costs."""

    def side(fields: tuple[str, ...]) -> str:
        cols = ", ".join(f"{_quoted(f)} AS _{i}" for i, f in enumerate(fields))
        present = " AND ".join(f"{_quoted(f)} IS NOT NULL" for f in fields)
        return f"SELECT {cols}, count(*) AS n FROM {place} WHERE {present} GROUP BY ALL"  # noqa: S608

    on = " AND ".join(f"a._{i} = b._{i}" for i in range(len(left)))
    values = ", ".join(f"a._{i}" for i in range(len(left)))
    rows = con.execute(
        f"WITH a AS MATERIALIZED ({side(left)}), b AS ({side(right)}) "  # noqa: S608
        f"SELECT a.n * b.n AS pairs, {values} FROM a JOIN b ON {on} "
        f"WHERE a.n * b.n > {limit * (limit - 1) // 2} ORDER BY pairs DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    pairs, *key = rows[0]
    either = " OR ".join(
        "(" + " AND ".join(f"{_quoted(f)} = ?" for f in fields) + ")" for fields in (left, right)
    )
    sources = con.execute(
        f"SELECT source, count(*) FROM {place} WHERE {either} GROUP BY 1 ORDER BY 2 DESC, 1",  # noqa: S608
        [*key, *key],
    ).fetchall()
    counts = tuple((str(s), int(c)) for s, c in sources)
    return LargeBlock((), sum(c for _s, c in counts), counts, rule=rule, pairs=int(pairs))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _block_of(
    con: duckdb.DuckDBPyConnection, place: str, fields: tuple[str, ...], values: list[Any]
) -> LargeBlock:
    """The records of ``place`` holding ``values`` in ``fields``, counted by source."""
    equal = " AND ".join(f"{_quoted(f)} = ?" for f in fields)
    sources = con.execute(
        f"SELECT source, count(*) FROM {place} WHERE {equal} GROUP BY 1 ORDER BY 2 DESC, 1",  # noqa: S608
        values,
    ).fetchall()
    counts = tuple((str(s), int(c)) for s, c in sources)
    return LargeBlock(fields, sum(c for _s, c in counts), counts)


def check(con: duckdb.DuckDBPyConnection, place: str, rules: Sequence[Any], *, limit: int) -> None:
    """Raise ``BlockTooLarge`` for the largest block of ``rules`` over ``place`` (a table of
    model input with its ``source``) holding more than ``limit`` records."""
    columns = con.table(place).columns
    found: LargeBlock | None = None
    for fields in _counted(rules, columns):
        cols = ", ".join(_quoted(f) for f in fields)
        present = " AND ".join(f"{_quoted(f)} IS NOT NULL" for f in fields)
        # fetchall, not fetchone: a result left unread (a group no larger than one found
        # already) would refuse the connection's next query.
        rows = con.execute(
            f"SELECT {cols}, count(*) AS n FROM {place} WHERE {present} "  # noqa: S608
            f"GROUP BY ALL HAVING count(*) > {int(limit)} ORDER BY n DESC LIMIT 1"
        ).fetchall()
        row = rows[0] if rows else None
        if row is None or (found is not None and row[-1] <= found.records):
            continue
        found = _block_of(con, place, fields, list(row[:-1]))
    if found is None:
        # A rule of a field against another, where no group of records alike is too large.
        for rule, left, right in _crossed(rules, columns):
            found = _largest_crossing(con, place, rule, left, right, limit)
            if found is not None:
                break
    if found is not None:
        raise BlockTooLarge(found, limit)


def check_pairs(
    con: duckdb.DuckDBPyConnection, pairs: str, place: str, rules: Sequence[Any], *, limit: int
) -> None:
    """Raise ``BlockTooLarge`` when an incremental run's blocked pairs would compare one
    record with more than ``limit`` others. ``pairs`` is a table of (k: the index of the
    first rule making the pair, a and b: row ids of ``place``).

    This catches a few new records joining a large block already in the place, which
    ``check`` on the new records alone cannot see. Counting the place's blocks that hold a
    new record instead read a million rows per rule (0.37 s for 10,000 new records); the
    pairs of a month's extracts are counted in milliseconds, before any is scored."""
    row = one(con.execute(
        f"SELECT r, count(*) AS n, mode(k) FROM (SELECT k, a AS r FROM {pairs} UNION ALL "  # noqa: S608
        f"SELECT k, b FROM {pairs}) GROUP BY 1 HAVING count(*) > {int(limit)} ORDER BY n DESC, r LIMIT 1"
    ))
    if row is None:
        return
    record, partners, k = int(row[0]), int(row[1]), int(row[2])
    sql = rule_sql(rules[k]) if 0 <= k < len(rules) else "every pair"
    fields = equality_fields(sql)
    if fields:
        cols = ", ".join(_quoted(f) for f in fields)
        values = one(con.execute(f"SELECT {cols} FROM {place} WHERE rowid = ?", [record]))  # noqa: S608
        raise BlockTooLarge(_block_of(con, place, fields, list(values or ())), limit)
    # Not one group of records alike (a field against another): name the rule itself.
    sources = con.execute(
        f"SELECT p.source, count(*) FROM (SELECT b AS r FROM {pairs} WHERE a = ? UNION "  # noqa: S608
        f"SELECT a FROM {pairs} WHERE b = ? UNION SELECT ?) x JOIN {place} p ON p.rowid = x.r "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        [record, record, record],
    ).fetchall()
    counts = tuple((str(s), int(c)) for s, c in sources)
    raise BlockTooLarge(LargeBlock((), partners + 1, counts, rule=sql), limit)
