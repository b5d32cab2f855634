"""Clerical review: analysts' decisions on pairs the model is unsure of.

Decisions live in their own table, keyed by the pair's two record ids (smaller first), so
they survive re-training and re-linking; every later link honours them as must-link
("same person") and cannot-link ("different people") constraints (see clusters.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from joinedup.insight.bridges import Cuts, cuts
from joinedup.insight.store import create_if_missing, has_table, one

__all__ = [
    "DECISIONS", "QueueItem", "ReviewError", "band", "constraints", "current_threshold",
    "decide", "ensure_schema", "forget_ids", "forget_records", "parse_pair", "queue", "scored", "set_band",
]  # fmt: skip

# What an analyst may decide, and the words the pages use.
DECISIONS: dict[str, str] = {
    "same": "Same person",
    "different": "Different people",
    "unsure": "Not sure",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_decisions (
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    decided_by VARCHAR,
    decided_at TIMESTAMP,
    match_probability DOUBLE,
    PRIMARY KEY (unique_id_l, unique_id_r)
);
"""


class ReviewError(ValueError):
    """A decision cannot be kept; nothing was saved."""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    create_if_missing(con, _SCHEMA)


def ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def constraints(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(must-link, cannot-link) pairs from every decision taken."""
    ensure_schema(con)
    rows = con.execute(
        "SELECT unique_id_l, unique_id_r, decision FROM review_decisions "
        "WHERE decision IN ('same', 'different') ORDER BY 1, 2"
    ).fetchall()
    must = [(a, b) for a, b, d in rows if d == "same"]
    cannot = [(a, b) for a, b, d in rows if d == "different"]
    return must, cannot


def parse_pair(key: str) -> tuple[str, str]:
    """A pair as the queue names it, "source|record~source|record", smaller id first."""
    left, sep, right = key.partition("~")
    if not sep or "|" not in left or "|" not in right:
        raise ReviewError(
            f"{key!r} is not a pair: give it as the queue lists it, like source|record~source|record"
        )
    return ordered(left, right)


def scored(con: duckdb.DuckDBPyConnection, a: str, b: str) -> bool:
    """Whether the model scored these two records as a pair."""
    left, right = ordered(a, b)
    return one(con.execute(
        "SELECT 1 FROM link_pairs WHERE unique_id_l = ? AND unique_id_r = ?", [left, right]
    )) is not None  # fmt: skip


def current_threshold(con: duckdb.DuckDBPyConnection) -> float:
    """The threshold of the latest finished link, against which decisions are weighed."""
    from joinedup.insight.model import DEFAULT_THRESHOLD

    row = one(con.execute(
        "SELECT threshold FROM link_runs WHERE status = 'done' ORDER BY run_id DESC LIMIT 1"
    ))
    return float(row[0]) if row and row[0] is not None else DEFAULT_THRESHOLD


def held(con: duckdb.DuckDBPyConnection, a: str, b: str) -> None:
    """Refuse a pair one of whose records has since been removed."""
    gone = [u for u in (a, b) if not _exists(con, u)]
    if gone:
        raise ReviewError(
            f"Record {gone[0]} is no longer held (its source was replaced or removed), so this "
            "pair cannot be decided; the queue will drop it at the next link"
        )


def forget_records(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Drop the decisions and check-sample draws on any of a source's records (the source is
    removed): see forget_ids."""
    prefix = source + "|"
    for table in ("review_decisions", "review_checks"):
        if has_table(con, table):
            con.execute(
                f"DELETE FROM {table} WHERE starts_with(unique_id_l, ?) OR starts_with(unique_id_r, ?)",  # noqa: S608
                [prefix, prefix],
            )


def forget_ids(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Drop the decisions and check-sample draws naming a record of ``relation`` (a registered
    table of ``unique_id``): records an extract no longer holds, or whose id it gives to
    somebody else. A decision kept on such an id would bind whatever record comes with it:
    a partner issuing the id again to another person would have them joined, by an analyst's
    "same person", to a stranger's person."""
    for table in ("review_decisions", "review_checks"):
        if has_table(con, table):
            con.execute(
                f"DELETE FROM {table} WHERE unique_id_l IN (SELECT unique_id FROM {relation}) "  # noqa: S608
                f"OR unique_id_r IN (SELECT unique_id FROM {relation})"
            )


def _exists(con: duckdb.DuckDBPyConnection, unique_id: str) -> bool:
    return one(
        con.execute("SELECT 1 FROM records WHERE source || '|' || record_id = ?", [unique_id])
    ) is not None


@dataclass(frozen=True)
class Decision:
    unique_id_l: str
    unique_id_r: str
    decision: str
    decided_by: str | None
    decided_at: datetime


def decide(
    con: duckdb.DuckDBPyConnection, a: str, b: str, decision: str, *, decided_by: str | None
) -> Decision:
    """Keep (or replace) the decision on a pair; it takes effect at the next link."""
    ensure_schema(con)
    if decision not in DECISIONS:
        raise ReviewError("Choose same person, different people or not sure")
    if a == b:
        raise ReviewError("A record cannot be paired with itself")
    held(con, a, b)
    left, right = ordered(a, b)
    probability = one(
        con.execute(
            "SELECT match_probability FROM link_pairs WHERE unique_id_l = ? AND unique_id_r = ?",
            [left, right],
        )
    )
    now = datetime.now()
    con.execute(
        "INSERT OR REPLACE INTO review_decisions VALUES (?, ?, ?, ?, ?, ?)",
        [left, right, decision, decided_by, now, probability[0] if probability else None],
    )
    return Decision(left, right, decision, decided_by, now)


# The uncertainty band: pairs the model scored between these match probabilities are
# queued for review. Kept in the store's settings table, so a place may set its own.
DEFAULT_BAND = (0.5, 0.95)


def band(con: duckdb.DuckDBPyConnection) -> tuple[float, float]:
    rows = dict(
        con.execute(
            "SELECT key, value FROM settings WHERE key IN ('review_band_low', 'review_band_high')"
        ).fetchall()
    )
    return float(rows.get("review_band_low", DEFAULT_BAND[0])), float(
        rows.get("review_band_high", DEFAULT_BAND[1])
    )


def set_band(con: duckdb.DuckDBPyConnection, low: float, high: float) -> None:
    if not 0 <= low < high <= 1:
        raise ReviewError("The band needs 0 ≤ low < high ≤ 1")
    con.execute("INSERT OR REPLACE INTO settings VALUES ('review_band_low', ?)", [str(low)])
    con.execute("INSERT OR REPLACE INTO settings VALUES ('review_band_high', ?)", [str(high)])


@dataclass(frozen=True)
class QueueItem:
    unique_id_l: str
    unique_id_r: str
    match_probability: float
    person_l: str
    person_r: str
    # What a decision against the model would do: "join" two persons; "split" a person whose
    # records this pair alone holds together, moving records_moved of them; or "cut" a person
    # that other pairs also hold together: a cannot-link makes it give up its weakest links
    # (clusters.py), so how many records move is known only at the next link.
    effect: str
    records_moved: int  # records that would change person
    decision: str | None
    kept_apart: bool = False  # a strong pair between two persons that something kept apart

    @property
    def pair_key(self) -> str:
        return f"{self.unique_id_l}~{self.unique_id_r}"

    @property
    def chance_of_change(self) -> float:
        """The model's chance that the analyst disagrees with it, so that the decision
        changes the persons: the match probability for a pair the persons keep apart, its
        complement for a pair they join. A strong pair between two persons is apart only
        because the model's conflict check (or an analyst) put the two persons apart, on
        evidence at least as strong as the pair's: its chance is taken as the complement of
        its score. (Taken as its score, such pairs came first, and at 1M records 951 of the
        first 1,000 were two people.)

        The queue puts first the pairs most likely to change the persons, then those that
        would move most records. Ordering by the records alone put first pairs that would
        join two large persons, which the model mostly has right: on the hard place, 748 of
        the first 1,000 were two people, and F1 rose from 0.9920 to 0.9945, less than with
        1,000 pairs drawn at random (0.9951); ordered by this chance, 0.9952; by this chance
        times the records (an earlier form, with kept-apart pairs at their own score), 0.9949
        (bench/review_queue.py, docs/benchmarks.md)."""
        joins = self.effect == "join" and not self.kept_apart
        return self.match_probability if joins else 1.0 - self.match_probability


def queue(con: duckdb.DuckDBPyConnection, threshold: float, *, limit: int = 100) -> list[QueueItem]:
    """Pairs in the band not yet decided ("not sure" ones after them), those whose decision
    would change the persons first: a pair that alone holds a person together or would alone
    join two persons, most likely to change them first (``QueueItem.chance_of_change``),
    then by the records that would move; then the rest.

    Also queued, whatever their score: strong pairs between two persons that the model's
    conflict check kept apart (``conflicts``). A record that reaches both persons went to
    one by the strength of its links alone, and an analyst's "same person" settles which."""
    ensure_schema(con)
    low, high = band(con)
    rows = con.execute(
        """
        SELECT p.unique_id_l, p.unique_id_r, p.match_probability, a.person_id, b.person_id,
               d.decision
        FROM link_pairs p
        JOIN person_links a ON a.source || '|' || a.record_id = p.unique_id_l
        JOIN person_links b ON b.source || '|' || b.record_id = p.unique_id_r
        LEFT JOIN review_decisions d USING (unique_id_l, unique_id_r)
        WHERE p.match_probability >= ? AND p.match_probability <= ?
          AND (d.decision IS NULL OR d.decision = 'unsure')
        """,
        [low, high],
    ).fetchall()
    # Only persons holding a record of a pair kept apart can be joined by a strong pair, so
    # the search is among their records rather than a join of every pair with its persons.
    rows += con.execute(
        """
        WITH ends AS (SELECT unique_id_l AS unique_id FROM link_conflict_pairs WHERE match_probability <= ?
                      UNION SELECT unique_id_r FROM link_conflict_pairs WHERE match_probability <= ?),
        links AS (SELECT source || '|' || record_id AS unique_id, person_id FROM person_links),
        kept AS (SELECT unique_id, person_id FROM links WHERE person_id IN (
                     SELECT person_id FROM links WHERE unique_id IN (SELECT unique_id FROM ends)))
        SELECT p.unique_id_l, p.unique_id_r, p.match_probability, a.person_id, b.person_id, d.decision
        FROM link_pairs p
        JOIN kept a ON a.unique_id = p.unique_id_l JOIN kept b ON b.unique_id = p.unique_id_r
        LEFT JOIN review_decisions d USING (unique_id_l, unique_id_r)
        WHERE p.match_probability > ? AND p.match_probability >= ? AND a.person_id <> b.person_id
          AND (d.decision IS NULL OR d.decision = 'unsure')
        """,
        [1.0 - threshold, 1.0 - threshold, high, threshold],
    ).fetchall()
    if not rows:
        return []
    persons = sorted({r[3] for r in rows} | {r[4] for r in rows})
    con.register("_persons", pd.DataFrame({"person_id": persons}, dtype=object))
    sizes = dict(
        con.execute(
            "SELECT person_id, count(*) FROM person_links WHERE person_id IN "
            "(SELECT person_id FROM _persons) GROUP BY 1"
        ).fetchall()
    )
    con.unregister("_persons")
    # The strong pairs only of persons holding a strong pair in the band: the others' pairs
    # are never walked (at a million records, 5,677 persons of 19,234, and half the pairs).
    walk = sorted({r[3] for r in rows if r[3] == r[4] and r[2] >= threshold})
    con.register("_walk", pd.DataFrame({"person_id": walk}, dtype=object))
    edges: dict[str, list[tuple[str, str]]] = {}
    for a, b, person in con.execute(
        """
        SELECT p.unique_id_l, p.unique_id_r, l.person_id FROM link_pairs p
        JOIN person_links l ON l.source || '|' || l.record_id = p.unique_id_l
        JOIN person_links r ON r.source || '|' || r.record_id = p.unique_id_r
        WHERE p.match_probability >= ? AND l.person_id = r.person_id
          AND l.person_id IN (SELECT person_id FROM _walk)
        """,
        [threshold],
    ).fetchall():
        edges.setdefault(person, []).append((a, b))
    con.unregister("_walk")
    items = []
    walked: dict[str, Cuts] = {}  # each person's graph walked once, for all its pairs
    for a, b, probability, pa_, pb, decision in rows:
        if pa_ != pb:
            effect, moved = "join", min(sizes[pa_], sizes[pb])
        elif probability >= threshold:
            if pa_ not in walked:
                walked[pa_] = cuts(edges.get(pa_, []))
            bridge, moved = walked[pa_].split(a, b)
            effect = "split" if bridge else "cut"
        else:
            effect, moved = "cut", 0
        kept_apart = pa_ != pb and probability >= threshold
        items.append(QueueItem(a, b, float(probability), pa_, pb, effect, moved, decision, kept_apart))
    items.sort(
        key=lambda i: (i.decision is not None, -i.chance_of_change, -i.records_moved,
                       abs(i.match_probability - threshold), i.unique_id_l, i.unique_id_r)
    )  # fmt: skip
    return items[:limit]
