"""Clerical review: analysts' decisions on pairs the model is unsure of.

Decisions live in their own table, keyed by the pair's two record ids (smaller first), so
they survive re-training and re-linking; every later link honours them as must-link
("same person") and cannot-link ("different people") constraints (see clusters.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from joinedup.insight.store import one

__all__ = ["DECISIONS", "ReviewError", "constraints", "decide", "ensure_schema"]

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
    con.execute(_SCHEMA)


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
    gone = [u for u in (a, b) if not _exists(con, u)]
    if gone:
        raise ReviewError(
            f"Record {gone[0]} is no longer held (its source was replaced or removed), so this "
            "pair cannot be decided; the queue will drop it at the next link"
        )
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
