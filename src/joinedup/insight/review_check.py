"""The check sample: pairs drawn at random from the review band, whose decisions alone
estimate the model's precision and recall in the band.

The queue (``review.queue``) offers first the pairs whose decision would change the persons,
and those are no random part of the band. On the hard place (``bench/review_queue.py``), the
first 100 pairs it offered, when it ordered them by the records a decision would move, were
all two people, while 88% of the band's pairs the model joins are one person; an estimate
from the queue's decisions said precision 0% (95% interval 0–10%). So the estimate is made
only from a simple random sample of the band's pairs: each draw takes one pair at random
from those in the band not drawn before (so a pair that enters the band at a later link has
the same chance as the rest), and a drawn pair that an analyst already decided from the
queue enters the sample with that decision, so the sample does not leave out what the queue
took.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from joinedup.insight import review
from joinedup.insight.store import create_if_missing, one

__all__ = ["Estimate", "NothingToDraw", "change_band", "draw", "ensure_schema", "estimate", "sampled"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_checks (
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    drawn_at TIMESTAMP,
    match_probability DOUBLE,
    PRIMARY KEY (unique_id_l, unique_id_r)
);
"""

# Pairs read per query while drawing: most draws need one, unless the queue took many.
_BATCH = 64


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    review.ensure_schema(con)
    create_if_missing(con, _SCHEMA)


class NothingToDraw(review.ReviewError):
    """The band holds no scored pair at all: the place is not linked, or the band is empty."""


def draw(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """The next pair of the check sample for an analyst to decide, or None when every pair
    in the band has been drawn. Pairs drawn on the way that already have a decision join
    the sample as they are. Raises NothingToDraw when the band holds no pair."""
    ensure_schema(con)
    low, high = review.band(con)
    if not one(
        con.execute("SELECT 1 FROM link_pairs WHERE match_probability BETWEEN ? AND ? LIMIT 1", [low, high])
    ):
        raise NothingToDraw(
            f"No pair is scored between {100 * low:.0f}% and {100 * high:.0f}%, so there is nothing to "
            "draw: link the place first, or widen the band"
        )
    while True:
        rows = con.execute(
            """
            SELECT p.unique_id_l, p.unique_id_r, p.match_probability, d.decision
            FROM link_pairs p
            LEFT JOIN review_checks c USING (unique_id_l, unique_id_r)
            LEFT JOIN review_decisions d USING (unique_id_l, unique_id_r)
            WHERE p.match_probability BETWEEN ? AND ? AND c.unique_id_l IS NULL
            ORDER BY random()
            LIMIT ?
            """,
            [low, high, _BATCH],
        ).fetchall()
        if not rows:
            return None
        now = datetime.now()
        for left, right, probability, decision in rows:
            con.execute("INSERT INTO review_checks VALUES (?, ?, ?, ?)", [left, right, now, probability])
            if decision is None:
                return left, right


def change_band(con: duckdb.DuckDBPyConnection, low: float, high: float) -> int:
    """Set the review band (``review.set_band``'s checks) and keep the check sample honest:
    returns how many draws were set aside. A narrower band keeps the sample, since the draws
    that fall inside it are still a simple random sample of it. A band reaching further
    either way sets every draw aside: those pairs were drawn before the new part could be, so
    the sample would under-count it. Analysts' decisions are kept; a decided pair rejoins the
    new sample, without asking anyone again, when a draw reaches it."""
    ensure_schema(con)
    old_low, old_high = review.band(con)
    review.set_band(con, low, high)
    if low >= old_low and high <= old_high:
        return 0
    (drawn,) = one(con.execute("SELECT count(*) FROM review_checks")) or (0,)
    con.execute("DELETE FROM review_checks")
    return int(drawn)


def sampled(con: duckdb.DuckDBPyConnection, left: str, right: str) -> bool:
    """Whether the pair was drawn for the check sample."""
    ensure_schema(con)
    return bool(
        one(
            con.execute(
                "SELECT 1 FROM review_checks WHERE unique_id_l = ? AND unique_id_r = ?",
                list(review.ordered(left, right)),
            )
        )
    )


@dataclass(frozen=True)
class Estimate:
    """Precision and recall of the threshold within the band, from the check sample."""

    reviewed: int  # pairs of the sample decided "same" or "different"
    precision: float | None
    precision_interval: tuple[float, float] | None
    precision_n: int
    recall: float | None
    recall_interval: tuple[float, float] | None
    recall_n: int
    drawn: int  # pairs drawn, decided or not
    not_counted: int  # decisions on pairs the queue offered but the sample never drew


def _wilson(successes: int, n: int) -> tuple[float | None, tuple[float, float] | None]:
    if n == 0:
        return None, None
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return successes / n, (float(interval.low), float(interval.high))


def estimate(con: duckdb.DuckDBPyConnection, threshold: float) -> Estimate:
    """Precision: of sampled pairs the model joins (probability ≥ threshold), the share an
    analyst judged the same person. Recall: of sampled pairs judged the same person, the
    share the model joins. Each with a 95% Wilson interval; only pairs in the band count,
    scored as they were when decided, and "not sure" counts neither way."""
    ensure_schema(con)
    low, high = review.band(con)
    rows = con.execute(
        """
        SELECT d.decision, d.match_probability, c.unique_id_l IS NOT NULL
        FROM review_decisions d LEFT JOIN review_checks c USING (unique_id_l, unique_id_r)
        WHERE d.decision IN ('same', 'different') AND d.match_probability BETWEEN ? AND ?
        """,
        [low, high],
    ).fetchall()
    sample = [(d, p) for d, p, drawn in rows if drawn]
    joined = [d for d, p in sample if p >= threshold]
    same = [p for d, p in sample if d == "same"]
    precision, p_interval = _wilson(sum(d == "same" for d in joined), len(joined))
    recall, r_interval = _wilson(sum(p >= threshold for p in same), len(same))
    (drawn,) = one(con.execute("SELECT count(*) FROM review_checks")) or (0,)
    return Estimate(
        len(sample), precision, p_interval, len(joined), recall, r_interval, len(same),
        int(drawn), len(rows) - len(sample),
    )  # fmt: skip
