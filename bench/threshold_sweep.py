"""Pairwise F1 and persons known to 3+ services when a linked synthetic place's stored pairs
are clustered again at other thresholds (the kept-apart pairs honoured as at 0.9): the check
that no threshold gives both the best F1 and the truest count.

    .venv/bin/python bench/insight_synthetic.py --records 40000 --seed 1 --hard --keep /tmp/hard1
    .venv/bin/python bench/threshold_sweep.py /tmp/hard1 0.95 0.9 0.8 0.7 0.6 0.5

The stored pairs are those at 0.5 and above, so lower thresholds cannot be tried. Read-only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from joinedup.insight import clusters, conflicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py")
    parser.add_argument("thresholds", type=float, nargs="+")
    args = parser.parse_args()
    con = duckdb.connect(str(args.place / "place.duckdb"), read_only=True)
    truth_csv = args.place / "extracts" / "truth.csv"
    con.execute(
        "CREATE TEMP TABLE truth AS SELECT source || '|' || record_id AS uid, source, person AS t "  # noqa: S608
        f"FROM read_csv('{truth_csv}', all_varchar = true)"
    )
    ids = con.sql("SELECT unique_id FROM link_input_cache ORDER BY 1").to_arrow_table().column(0)
    pairs = con.sql(
        "SELECT unique_id_l, unique_id_r, match_weight, match_probability FROM link_pairs"
    ).to_arrow_table()
    cannot = conflicts.stored_cannot_links(con, 0.9)
    for threshold in args.thresholds:
        con.register("cl", clusters.cluster_records(ids, pairs, threshold, cannot_link=cannot))
        tp, pp, ap, model3, truth3 = con.execute(
            """
            WITH j AS (SELECT c.cluster_id AS p, t.t, t.source FROM cl c JOIN truth t ON t.uid = c.unique_id)
            SELECT (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM j GROUP BY p, t)),
                   (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM j GROUP BY p)),
                   (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM j GROUP BY t)),
                   (SELECT count(*) FROM (SELECT p FROM j GROUP BY p HAVING count(DISTINCT source) >= 3)),
                   (SELECT count(*) FROM (SELECT t FROM j GROUP BY t HAVING count(DISTINCT source) >= 3))
            """
        ).fetchall()[0]
        con.unregister("cl")
        precision, recall = tp / pp, tp / ap
        f1 = 2 * precision * recall / (precision + recall)
        print(
            f"threshold {threshold}: precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}; "
            f"known to 3+ {model3} against {truth3} ({100 * (model3 - truth3) / truth3:+.2f}%)"
        )


if __name__ == "__main__":
    main()
