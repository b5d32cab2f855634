"""Where a hard place's pairwise errors are: the false and missed pairs of its persons,
counted by the kinds of hard case the two records carry (``ordinary`` for neither), and the
false pairs scored at the threshold or above, by kind.

Reads a place kept by ``bench/insight_synthetic.py --hard --keep DIR`` (its store, truth and
``hard_cases.csv``).

    .venv/bin/python bench/insight_synthetic.py --records 40000 --seed 1 --hard --keep /tmp/hard1
    .venv/bin/python bench/hard_place_errors.py /tmp/hard1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from joinedup.insight.evaluate import register_truth
from joinedup.insight.model import DEFAULT_THRESHOLD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py --hard --keep")
    args = parser.parse_args()
    extracts = args.place / "extracts"
    con = duckdb.connect(str(args.place / "place.duckdb"), read_only=True)
    register_truth(con, extracts)
    # A record may carry more than one kind (a twin's original, say); the first is used.
    con.execute("CREATE TEMP TABLE first_kind AS SELECT uid, min(kind) AS kind FROM hard GROUP BY uid")
    con.execute(
        """
        CREATE TEMP TABLE linked AS
        SELECT t.uid, p.person_id, t.person, coalesce(h.kind, 'ordinary') AS kind
        FROM person_links p JOIN truth t ON t.uid = p.source || '|' || p.record_id
        LEFT JOIN first_kind h ON h.uid = t.uid
        """
    )
    # The pairs in one linked person, then the true pairs the persons split: two joins on
    # one key each (a join on either key is a nested loop, over ten minutes at 1M records).
    con.execute(
        """
        CREATE TEMP TABLE pairs AS
        SELECT true AS linked, a.person = b.person AS true_pair,
               least(a.kind, b.kind) || ' + ' || greatest(a.kind, b.kind) AS kinds
        FROM linked a JOIN linked b ON a.uid < b.uid AND a.person_id = b.person_id
        UNION ALL
        SELECT false, true, least(a.kind, b.kind) || ' + ' || greatest(a.kind, b.kind)
        FROM linked a JOIN linked b ON a.uid < b.uid AND a.person = b.person AND a.person_id <> b.person_id
        """
    )
    false, missed = con.execute(
        "SELECT count(*) FILTER (linked AND NOT true_pair), count(*) FILTER (true_pair AND NOT linked) "
        "FROM pairs"
    ).fetchone() or (0, 0)
    print(f"false pairs {false:,}, missed pairs {missed:,}")
    print("\nby the kinds of the two records (false, missed):")
    for kinds, f, m in con.execute(
        """
        SELECT kinds, count(*) FILTER (linked AND NOT true_pair) AS f,
               count(*) FILTER (true_pair AND NOT linked) AS m
        FROM pairs GROUP BY kinds HAVING f + m > 0 ORDER BY f + m DESC
        """
    ).fetchall():
        print(f"  {kinds:40} {f:6,} {m:6,}")
    print(f"\nfalse pairs scored at {DEFAULT_THRESHOLD} or more, by the kind either record carries:")
    for kind, n in con.execute(
        """
        SELECT coalesce(hl.kind, hr.kind, 'ordinary'), count(*)
        FROM link_pairs p JOIN truth l ON l.uid = p.unique_id_l JOIN truth r ON r.uid = p.unique_id_r
        LEFT JOIN first_kind hl ON hl.uid = l.uid LEFT JOIN first_kind hr ON hr.uid = r.uid
        WHERE p.run_id = (SELECT max(run_id) FROM link_pairs) AND p.match_probability >= ?
          AND l.person <> r.person
        GROUP BY 1 ORDER BY 2 DESC
        """,
        [DEFAULT_THRESHOLD],
    ).fetchall():
        print(f"  {kind:40} {n:6,}")


if __name__ == "__main__":
    main()
