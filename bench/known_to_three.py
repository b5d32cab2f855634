"""Where the count of persons known to 3+ services falls short of the truth, on a kept
synthetic place (``bench/insight_synthetic.py --keep DIR``, linked, with its truth.csv).

    .venv/bin/python bench/insight_synthetic.py --records 1000000 --seed 1 --keep /tmp/s1m
    .venv/bin/python bench/known_to_three.py /tmp/s1m

It counts the true persons known to 3+ services of whom no model person holds 3 services
(*lost*), and the model persons that reach 3 services only by holding records of several
people (*gained*); scores every true pair across a lost person's model persons with the
stored model, compared or not; and counts what one more capped rare-value key, a postcode
with the surname's initial, would find among those pairs and what it would cost. The
store is copied first (the model is read through the store's own functions, which may
create missing tables).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight import input_cache, link_state, pair_scorer, splink_backend
from joinedup.insight.model_input import RARE_KEY_CAP


def _setup(con: duckdb.DuckDBPyConnection, truth: Path) -> None:
    con.execute(f"CREATE TEMP TABLE truth AS SELECT * FROM read_csv('{truth}', all_varchar = true)")
    con.execute(
        "CREATE TEMP TABLE j AS SELECT l.source, l.source || '|' || l.record_id AS uid, l.person_id AS p, "
        "t.person AS t FROM person_links l JOIN truth t USING (source, record_id)"
    )
    con.execute("CREATE TEMP TABLE piece AS SELECT t, p, count(DISTINCT source) AS ns FROM j GROUP BY t, p")
    con.execute("CREATE TEMP TABLE tp AS SELECT t, count(DISTINCT source) AS ns FROM j GROUP BY t")
    con.execute(
        "CREATE TEMP TABLE mp AS SELECT p, count(DISTINCT source) AS ns, count(DISTINCT t) AS nt "
        "FROM j GROUP BY p"
    )
    con.execute(
        "CREATE TEMP TABLE lost AS SELECT t FROM tp WHERE ns >= 3 "
        "AND NOT EXISTS (SELECT 1 FROM piece WHERE piece.t = tp.t AND piece.ns >= 3)"
    )
    con.execute(
        "CREATE TEMP TABLE cross_pairs AS SELECT a.uid AS l, b.uid AS r, a.t FROM j a "
        "JOIN j b ON a.t = b.t AND a.uid < b.uid AND a.p <> b.p WHERE a.t IN (SELECT t FROM lost)"
    )


def _scores(con: duckdb.DuckDBPyConnection, work: Path) -> pa.Table:
    stored = link_state.load_model(con)
    assert stored is not None, "the place has no stored model: link it first"
    tf = link_state.term_frequencies(con, stored.model_id)
    model = splink_backend.model_for_dialect(stored.model, stored.fields, "duckdb")
    pairs = con.sql(
        "SELECT '0' AS match_key, l AS join_key_l, r AS join_key_r FROM cross_pairs"
    ).to_arrow_table()
    ids = pc.unique(pa.concat_arrays([pairs.column(1).combine_chunks(), pairs.column(2).combine_chunks()]))
    records = input_cache.rows_of(con, input_cache.CACHE, ids, splink_backend.scoring_columns(model))
    with pair_scorer.pair_scorer("duckdb", model, tf, memory_limit="2GB", threads=2, work_dir=work) as scorer:
        return scorer.score(records, pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="the --keep directory of bench/insight_synthetic.py")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="joinedup-three-"))
    try:
        shutil.copy(args.place / "place.duckdb", work / "place.duckdb")
        con = duckdb.connect(work / "place.duckdb")
        _setup(con, args.place / "extracts" / "truth.csv")
        con.register("sc", _scores(con, work))
        band = (
            "CASE WHEN s.match_probability >= 0.9 THEN '0.9+' WHEN s.match_probability >= 0.5 THEN '0.5-0.9' "
            "ELSE 'under 0.5' END"
        )
        scored = con.execute(
            f"SELECT CASE WHEN k.unique_id_l IS NULL THEN 'not kept' ELSE 'kept' END, {band}, count(*), "  # noqa: S608
            "count(DISTINCT c.t) FROM cross_pairs c JOIN sc s ON s.unique_id_l = c.l AND s.unique_id_r = c.r "
            "LEFT JOIN link_pairs k ON k.unique_id_l = c.l AND k.unique_id_r = c.r GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        con.execute(
            "CREATE TEMP TABLE key AS SELECT unique_id, postcode || ' ' || surname_initial AS v "
            "FROM link_input_cache WHERE postcode IS NOT NULL AND surname_initial IS NOT NULL"
        )
        con.execute(
            f"CREATE TEMP TABLE rare AS SELECT v FROM key GROUP BY 1 HAVING count(*) <= {RARE_KEY_CAP}"
        )
        (key_pairs,) = con.execute(
            "SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM key WHERE v IN (SELECT v FROM rare) "
            "GROUP BY v)"
        ).fetchone() or (0,)
        found = con.execute(
            "SELECT count(*), count(DISTINCT c.t) FROM cross_pairs c JOIN key a ON a.unique_id = c.l "
            "JOIN key b ON b.unique_id = c.r WHERE a.v = b.v AND a.v IN (SELECT v FROM rare)"
        ).fetchone()
        (comparisons,) = con.execute(
            "SELECT n_comparisons FROM link_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchone() or (None,)
        one = lambda sql: (con.execute(sql).fetchone() or (0,))[0]  # noqa: E731
        out = {
            "truth_known_to_3_plus": one("SELECT count(*) FROM tp WHERE ns >= 3"),
            "model_known_to_3_plus": one("SELECT count(*) FROM mp WHERE ns >= 3"),
            "lost": one("SELECT count(*) FROM lost"),
            "gained_only_by_mixing": one(
                "SELECT count(*) FROM mp WHERE ns >= 3 AND nt > 1 "
                "AND NOT EXISTS (SELECT 1 FROM piece WHERE piece.p = mp.p AND piece.ns >= 3)"
            ),
            "lost_cross_pairs": one("SELECT count(*) FROM cross_pairs"),
            "lost_cross_pairs_by_score": [
                {"stored": a, "score": b, "pairs": n, "persons": m} for a, b, n, m in scored
            ],
            "postcode_initial_key": {
                "pairs_it_makes": int(key_pairs or 0), "comparisons_now": comparisons,
                "lost_cross_pairs_it_finds": found[0] if found else 0,
                "lost_persons_they_touch": found[1] if found else 0,
            },
        }  # fmt: skip
        print(json.dumps(out, indent=2))
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
