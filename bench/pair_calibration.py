"""Whether the model's probabilities can be believed, band by band: of a kept synthetic
place's scored pairs in each band of match weight, the mean probability the model gave and
the share that are truly one person, for all pairs and for the pairs touching each kind of
hard case (where the place has them).

A band whose true share is far above its mean probability is one where the model is
unsure of pairs that are in fact matches (evidence it under-weighs); far below, pairs it
is too sure of. Either is where a better comparison would pay; a band where the two agree
holds errors no threshold or weighting of these fields can remove.

    .venv/bin/python bench/insight_synthetic.py --records 40000 --seed 1 --hard --keep /tmp/hard1
    .venv/bin/python bench/pair_calibration.py /tmp/hard1

Reads the pairs the last run kept (match probability 0.5 and over). Read-only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py --keep")
    parser.add_argument("--below", type=float, default=8.0, help="bands of match weight up to this")
    args = parser.parse_args()
    extracts = args.place / "extracts"
    con = duckdb.connect(str(args.place / "place.duckdb"), read_only=True)
    con.execute(
        "CREATE TEMP TABLE truth AS SELECT source || '|' || record_id AS uid, person "
        "FROM read_csv(?, all_varchar = true)", [str(extracts / "truth.csv")],
    )  # fmt: skip
    hard = extracts / "hard_cases.csv"
    if hard.exists():
        con.execute(
            "CREATE TEMP TABLE kinds AS SELECT source || '|' || record_id AS uid, kind "
            "FROM read_csv(?, all_varchar = true)", [str(hard)],
        )  # fmt: skip
    else:
        con.execute("CREATE TEMP TABLE kinds (uid VARCHAR, kind VARCHAR)")
    con.execute(
        """
        CREATE TEMP TABLE scored AS
        SELECT floor(p.match_weight) AS band, p.match_probability AS probability,
               l.person = r.person AS same, p.unique_id_l AS a, p.unique_id_r AS b
        FROM link_pairs p JOIN truth l ON l.uid = p.unique_id_l JOIN truth r ON r.uid = p.unique_id_r
        WHERE p.run_id = (SELECT max(run_id) FROM link_pairs) AND p.match_weight < ?
        """,
        [args.below],
    )
    groups = [
        "all pairs",
        *[k for (k,) in con.execute("SELECT DISTINCT kind FROM kinds ORDER BY 1").fetchall()],
    ]
    for group in groups:
        where = "" if group == "all pairs" else (
            "WHERE a IN (SELECT uid FROM kinds WHERE kind = $kind) "
            "OR b IN (SELECT uid FROM kinds WHERE kind = $kind)"
        )  # fmt: skip
        rows = con.execute(
            f"SELECT band, count(*), avg(probability), avg(same::INTEGER) FROM scored {where} "  # noqa: S608
            "GROUP BY band ORDER BY band",
            {"kind": group} if where else {},
        ).fetchall()
        print(f"\n{group}\n  {'weight':>8} {'pairs':>7} {'mean probability':>17} {'truly one person':>17}")
        for band, n, mean, share in rows:
            print(f"  {band:4.0f}–{band + 1:<3.0f} {n:7,} {mean:17.3f} {share:17.3f}")


if __name__ == "__main__":
    main()
