"""Benchmark: the memory a process still holds after a link run, before and after Python's
collector runs (what a long-lived web process keeps between runs).

    .venv/bin/python bench/memory_after_link.py --keep /work/benchdata/inc1m

Uses the base place that ``bench/incremental_link.py --keep DIR`` builds; runs a full
re-link with the stored model on a copy, and reads the resident memory from
``/proc/self/status`` (Linux) after the run, after ``gc.collect()`` and after closing the
store.
"""

from __future__ import annotations

import argparse
import gc
import shutil
from pathlib import Path


def _rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return -1


def main() -> None:
    from joinedup.insight.link import link_place
    from joinedup.insight.store import connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="directory of bench/incremental_link.py")
    parser.add_argument("--memory-limit", default="2GB")
    args = parser.parse_args()
    store = args.keep / "run.duckdb"
    shutil.copy(args.keep / "base.duckdb", store)
    con = connect(store, memory_limit=args.memory_limit, threads=2)
    con.execute("INSERT INTO records SELECT * FROM held_back")
    print(f"before the link: {_rss_mb():,} MB")
    link_place(con, work_dir=args.keep / "work", memory_limit=args.memory_limit, threads=2, mode="full",
               retrain=False)  # fmt: skip
    print(f"after the link: {_rss_mb():,} MB")
    gc.collect()
    print(f"after gc.collect(): {_rss_mb():,} MB")
    con.close()
    gc.collect()
    print(f"after closing the store: {_rss_mb():,} MB")


if __name__ == "__main__":
    main()
