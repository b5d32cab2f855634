"""Benchmark: the incremental path's blocking query alone (``incremental_blocking.blocked_pairs``,
one join per rule of the touched records against the place), on a place kept by
``bench/incremental_link.py --keep DIR``.

Whole incremental runs vary by about 15% from run to run on a shared 2-core machine, more
than a change to one query; this times the query by itself, many times, and prints the
median. To compare two versions of the code, run it with each on PYTHONPATH in turn.

    .venv/bin/python bench/incremental_link.py --records 1000000 --repeats 1 --keep /tmp/inc1m
    .venv/bin/python bench/incremental_blocking.py /tmp/inc1m --repeats 8
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from joinedup.insight.incremental_blocking import blocked_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by incremental_link.py --keep")
    parser.add_argument("--touched", type=int, default=10_000, help="records taken as new")
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "copy.duckdb"
        shutil.copy(args.place / "base.duckdb", store)
        con = duckdb.connect(str(store))
        con.execute("SET threads = 2")
        con.execute("SET memory_limit = '2GB'")
        (model_json,) = con.execute(
            "SELECT model_json FROM link_models ORDER BY model_id DESC LIMIT 1"
        ).fetchall()[0]
        model = json.loads(model_json)
        n = int(args.touched)
        sample = f"SELECT unique_id FROM link_input_cache USING SAMPLE {n} ROWS (reservoir, 7)"
        touched = pa.array([row[0] for row in con.execute(sample).fetchall()], pa.string())
        seconds, pairs = [], 0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            pairs = blocked_pairs(con, "link_input_cache", touched, model).num_rows
            seconds.append(time.perf_counter() - t0)
        con.close()
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    median = statistics.median(seconds)
    print(f"{len(touched):,} touched records: {pairs:,} pairs; median {median:.3f} s ({runs})")


if __name__ == "__main__":
    main()
