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
import pandas as pd

from joinedup.insight import clusters, conflicts, evaluate


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
    truth = evaluate.read_truth(truth_csv)
    for threshold in args.thresholds:
        clustered = clusters.cluster_records(ids, pairs, threshold, cannot_link=cannot)
        unique_id = clustered.column("unique_id").to_pandas()
        links = pd.DataFrame({
            "source": unique_id.str.split("|", n=1).str[0], "record_id": unique_id.str.split("|", n=1).str[1],
            "person_id": clustered.column("cluster_id").to_pandas(),
        })  # fmt: skip
        score = evaluate.evaluate_frames(links, truth)
        con.register("links", links)
        model3, truth3 = con.execute(
            """
            WITH j AS (SELECT l.person_id AS p, t.t, t.source FROM links l
                       JOIN truth t ON t.uid = l.source || '|' || l.record_id)
            SELECT (SELECT count(*) FROM (SELECT p FROM j GROUP BY p HAVING count(DISTINCT source) >= 3)),
                   (SELECT count(*) FROM (SELECT t FROM j GROUP BY t HAVING count(DISTINCT source) >= 3))
            """
        ).fetchall()[0]
        con.unregister("links")
        print(
            f"threshold {threshold}: precision {score.precision:.4f} recall {score.recall:.4f} "
            f"F1 {score.f1:.4f}; known to 3+ {model3} against {truth3} "
            f"({100 * (model3 - truth3) / truth3:+.2f}%)"
        )


if __name__ == "__main__":
    main()
