"""The best pairwise F1 the records of a synthetic place allow: an upper bound for any linker.

The ties and their price are ``joinedup.insight.evidence_ceiling``'s (its docstring says how
they are found and priced); this script reads a kept place and prints them.

Reads a place kept by ``bench/insight_synthetic.py --keep DIR`` (its store's cleaned model
input and ``truth.csv``; ``hard_cases.csv`` when the place has hard cases).

    .venv/bin/python bench/insight_synthetic.py --records 40000 --seed 1 --hard --keep /tmp/hard1
    .venv/bin/python bench/evidence_ceiling.py /tmp/hard1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from joinedup.insight.evaluate import register_truth
from joinedup.insight.evidence_ceiling import measure, records_of_place


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py --keep")
    args = parser.parse_args()
    started = time.perf_counter()
    con = duckdb.connect(str(args.place / "place.duckdb"), read_only=True)
    if (args.place / "extracts" / "hard_cases.csv").exists():
        register_truth(con, args.place / "extracts")
    else:  # an ordinary place: every record is ordinary
        con.execute(
            "CREATE TEMP TABLE truth AS SELECT source || '|' || record_id AS uid, person "
            "FROM read_csv(?, all_varchar = true)", [str(args.place / "extracts" / "truth.csv")],
        )  # fmt: skip
        con.execute("CREATE TEMP TABLE hard (uid VARCHAR, kind VARCHAR)")
    records_of_place(con)
    found = measure(con)
    print(f"{args.place}: {found.records:,} records, {found.true_pairs:,} true pairs")
    print(f"tied records {found.tied:,}; pairs an oracle still misses {found.missed:,.0f}, "
          f"makes falsely {found.false:,.0f}")  # fmt: skip
    print(f"F1 ceiling {found.f1:.4f}  ({time.perf_counter() - started:.0f} s)")
    print("\nby kind (tied records, missed, false):")
    for kind, n, missed, false in found.by_kind:
        print(f"  {kind:16} {n:7,} {missed:10,.0f} {false:8,.0f}")


if __name__ == "__main__":
    main()
