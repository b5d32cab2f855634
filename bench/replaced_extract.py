"""What replacing a large extract spends on the records it no longer holds: finding them for
the source page's note, and dropping analysts' decisions and check draws on them.

Works on a copy of a place kept by ``bench/insight_synthetic.py --keep DIR``: the largest
source's records less one in a hundred stand in for its next extract, a decision and a check
draw are put on a hundred of the records it drops (and as many it keeps), and each step is
timed (medians of --repeats, each in a transaction rolled back).

    .venv/bin/python bench/insight_synthetic.py --records 1000000 --seed 1 --hard --keep /tmp/h1m
    .venv/bin/python bench/replaced_extract.py /tmp/h1m
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from joinedup.insight import review, review_check
from joinedup.insight.held_sources import leaving_records
from joinedup.insight.store import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py --keep")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "place.duckdb"
        shutil.copy(args.place / "place.duckdb", store)
        con = connect(store, memory_limit="4GB", threads=2)
        (source, held) = con.execute(
            "SELECT source, count(*) FROM records GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchall()[0]
        incoming = con.sql(
            f"SELECT * FROM records WHERE source = '{source}' AND hash(record_id) % 100 <> 0"  # noqa: S608
        ).to_arrow_table()
        con.register("_incoming_records", incoming)
        review.ensure_schema(con)
        review_check.ensure_schema(con)
        for kept in (False, True):
            con.execute(
                "INSERT INTO review_decisions SELECT ? || record_id, 'zz|x', 'same', 'bench', now(), 0.9 "
                "FROM records WHERE source = ? AND (hash(record_id) % 100 = 0) = ? LIMIT 100",
                [source + "|", source, not kept],
            )
        con.execute(
            "INSERT INTO review_checks SELECT unique_id_l, unique_id_r, now(), 0.9 FROM review_decisions"
        )
        notes, forgets = [], []
        for _ in range(args.repeats):
            con.execute("BEGIN")
            started = time.perf_counter()
            leaving = leaving_records(con, source)
            notes.append(time.perf_counter() - started)
            con.execute(  # what write_extract has done by then: the old extract replaced
                "DELETE FROM records WHERE source = ? AND record_id NOT IN "
                "(SELECT record_id FROM _incoming_records)", [source]
            )  # fmt: skip
            con.register("_leaving", leaving)
            started = time.perf_counter()
            review.forget_ids(con, "_leaving")
            forgets.append(time.perf_counter() - started)
            con.unregister("_leaving")
            (left,) = con.execute("SELECT count(*) FROM review_decisions").fetchall()[0]
            con.execute("ROLLBACK")
        con.close()
    print(f"{source}: {held:,} records held, {len(incoming):,} in the new extract")
    print(f"records leaving: {len(leaving):,}")
    print(f"decisions left: {left} of 200 (the 100 on records kept)")
    print(f"finding what left, median {statistics.median(notes):.3f} s; "
          f"dropping their decisions and draws, median {statistics.median(forgets):.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
