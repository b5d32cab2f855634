"""How far analysts' review takes a place's persons, and whether the precision and recall
estimated from their decisions can be believed: an analyst is simulated on a kept synthetic
place, deciding each queued pair as its truth says, and the place is linked after each batch.

    .venv/bin/python bench/insight_synthetic.py --records 40000 --seed 1 --hard --keep /tmp/hard1
    .venv/bin/python bench/review_queue.py /tmp/hard1 --batches 4 --batch 250 --order queue
    .venv/bin/python bench/review_queue.py /tmp/hard1 --batches 4 --batch 250 --order random

``--order queue`` takes the pairs as the review page offers them (``review.queue``: those
whose decision would change the persons most first); ``--order random`` takes them as the
check sample draws them (``review_check.draw``: at random from the band). After each batch
it prints pairwise F1, persons known to 3+ services against the truth, and the estimate of
precision and recall in the band from the check sample (``review_check.estimate``) and,
as joinedup made it before the check sample, from every decision, beside their true values
over every pair in the band. The simulated analyst never errs, so the figures are the most
review can give. The store is copied first; the kept place is not changed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from joinedup.insight import review, review_check
from joinedup.insight.evaluate import evaluate_against_truth
from joinedup.insight.link import link_place
from joinedup.insight.model import DEFAULT_THRESHOLD


def _truth_tables(con: duckdb.DuckDBPyConnection, extracts: Path) -> None:
    con.execute(
        "CREATE TEMP TABLE truth_of AS SELECT source || '|' || record_id AS uid, person "
        "FROM read_csv(?, all_varchar = true)",
        [str(extracts / "truth.csv")],
    )


def _known_to_three(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Persons known to 3+ services: the model's, and the truth's over the same records."""
    model, true = con.execute(
        """
        WITH j AS (SELECT l.source, l.person_id, t.person FROM person_links l
                   JOIN truth_of t ON t.uid = l.source || '|' || l.record_id)
        SELECT (SELECT count(*) FROM (SELECT person_id FROM j GROUP BY 1 HAVING count(DISTINCT source) >= 3)),
               (SELECT count(*) FROM (SELECT person FROM j GROUP BY 1 HAVING count(DISTINCT source) >= 3))
        """
    ).fetchone() or (0, 0)
    return int(model), int(true)


def _band_truth(con: duckdb.DuckDBPyConnection, threshold: float) -> dict[str, float | int | None]:
    """Precision and recall of the threshold over every stored pair in the band, by the truth:
    what ``review.estimate`` estimates from the decided pairs alone."""
    low, high = review.band(con)
    joined, joined_true, true, true_joined = con.execute(
        """
        WITH b AS (SELECT p.match_probability >= ? AS joined, a.person = c.person AS same
                   FROM link_pairs p JOIN truth_of a ON a.uid = p.unique_id_l
                   JOIN truth_of c ON c.uid = p.unique_id_r
                   WHERE p.match_probability BETWEEN ? AND ?)
        SELECT count(*) FILTER (joined), count(*) FILTER (joined AND same),
               count(*) FILTER (same), count(*) FILTER (same AND joined) FROM b
        """,
        [threshold, low, high],
    ).fetchone() or (0, 0, 0, 0)
    return {
        "pairs_joined": joined,
        "precision": round(joined_true / joined, 4) if joined else None,
        "pairs_same": true,
        "recall": round(true_joined / true, 4) if true else None,
    }


def _decide_batch(con: duckdb.DuckDBPyConnection, order: str, n: int, threshold: float) -> tuple[int, int]:
    """Decide up to ``n`` pairs as the truth says, taken in ``order``; returns (same, different).
    The check sample's pairs are drawn one at a time, each decided before the next is drawn,
    as an analyst would."""
    if order == "queue":
        pairs = iter([(i.unique_id_l, i.unique_id_r) for i in review.queue(con, threshold, limit=n)])
    else:
        pairs = iter(lambda: review_check.draw(con), None)
    same = different = 0
    for a, b in itertools.islice(pairs, n):
        persons = dict(con.execute("SELECT uid, person FROM truth_of WHERE uid IN (?, ?)", [a, b]).fetchall())
        is_same = persons.get(a) is not None and persons.get(a) == persons.get(b)
        review.decide(con, a, b, "same" if is_same else "different", decided_by="simulated analyst")
        same += is_same
        different += not is_same
    return same, different


def _every_decision(con: duckdb.DuckDBPyConnection, threshold: float) -> dict[str, object]:
    """Precision in the band as joinedup estimated it before the check sample: from every
    decision, whichever way the pair was chosen."""
    low, high = review.band(con)
    joined, same = con.execute(
        "SELECT count(*), count(*) FILTER (decision = 'same') FROM review_decisions "
        "WHERE decision IN ('same', 'different') AND match_probability BETWEEN ? AND ? "
        "AND match_probability >= ?",
        [low, high, threshold],
    ).fetchone() or (0, 0)
    return {"precision": round(same / joined, 4) if joined else None, "precision_n": joined}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py --keep")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch", type=int, default=250, help="pairs decided before each link")
    parser.add_argument("--order", choices=("queue", "random"), default="queue")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="joinedup-review-"))
    threshold = DEFAULT_THRESHOLD
    try:
        shutil.copy(args.place / "place.duckdb", work / "place.duckdb")
        con = duckdb.connect(work / "place.duckdb")
        review.ensure_schema(con)
        _truth_tables(con, args.place / "extracts")
        truth_csv = args.place / "extracts" / "truth.csv"

        def state(decided: int, same: int, different: int, link_s: float | None) -> dict[str, object]:
            ev = evaluate_against_truth(con, truth_csv)
            model3, true3 = _known_to_three(con)
            est = review_check.estimate(con, threshold)
            return {
                "decided": decided, "same": same, "different": different,
                "link_s": None if link_s is None else round(link_s, 2),
                "f1": round(ev.f1, 4), "precision": round(ev.precision, 4), "recall": round(ev.recall, 4),
                "known_to_3_plus": model3, "truth_known_to_3_plus": true3,
                "known_to_3_plus_short": round((true3 - model3) / max(true3, 1), 4),
                "band_estimate_every_decision": _every_decision(con, threshold),
                "band_estimate": {
                    "precision": est.precision, "precision_interval": est.precision_interval,
                    "precision_n": est.precision_n, "recall": est.recall,
                    "recall_interval": est.recall_interval, "recall_n": est.recall_n,
                },
                "band_truth": _band_truth(con, threshold),
            }  # fmt: skip

        rows = [state(0, 0, 0, None)]
        decided = same = different = 0
        for _ in range(args.batches):
            s, d = _decide_batch(con, args.order, args.batch, threshold)
            if not s + d:
                break
            decided, same, different = decided + s + d, same + s, different + d
            t0 = time.perf_counter()
            link_place(con, mode="incremental", work_dir=work / "link", threshold=threshold)
            rows.append(state(decided, same, different, time.perf_counter() - t0))
        print(json.dumps({"place": str(args.place), "order": args.order, "rounds": rows}, indent=1))
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
