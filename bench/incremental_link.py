"""Benchmark: 10,000 new records linked into an already linked place, incrementally (the
stored model, only the persons touched) against a full re-link of the same place, side by
side in the same run.

The place is a synthetic one of N + new records (written untimed in a child process). The
new records are the latest by event date – next month's extracts – held back while the
base place is ingested and linked; then, on a fresh copy of the base store each time, they
are put back and the place is linked (timed: link_place from start to end, which includes
reading the records and writing the persons):

* incremental – the default once a model is stored;
* full, stored model – every pair scored again with the same model (the persons must be
  the same as the incremental path's, and are checked);
* full, re-trained – what `joinedup link --full` does.

Medians over --repeats runs; peak RSS per mode with --only (run under /usr/bin/time -v).

    .venv/bin/python bench/incremental_link.py --records 100000
    /usr/bin/time -v .venv/bin/python bench/incremental_link.py --records 100000 --keep /tmp/p \\
        --only incremental
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RECORDS_PER_PERSON = 2.1
MODES = ("incremental", "full, stored model", "full, re-trained")


def _generate(people: int, out: Path, seed: int) -> None:
    code = (
        "from pathlib import Path; from joinedup.synth.insight import generate_place; "
        f"generate_place({people}, Path({str(out)!r}), seed={seed}, formats='csv')"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _build_base(
    root: Path, records: int, new: int, seed: int, memory_limit: str, declared: list[str]
) -> None:
    from joinedup.insight.link import link_place
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.store import connect

    extracts = root / "extracts"
    if not (extracts / "truth.csv").exists():
        _generate(int((records + new) / RECORDS_PER_PERSON), extracts, seed)
    base = root / "base.duckdb"
    base.unlink(missing_ok=True)
    con = connect(base, memory_limit=memory_limit, threads=2)
    ingest_directory(con, extracts)
    if declared:  # as if their mappings said one_record_per_person = true (one_record_sources)
        con.execute(
            "UPDATE sources SET one_record_per_person = true WHERE list_contains(?, name)", [declared]
        )
    # Next month's extracts: the latest events, held back from the base place.
    con.execute(
        f"CREATE TABLE held_back AS SELECT * FROM records ORDER BY event_date DESC NULLS LAST, "  # noqa: S608
        f"source, record_id LIMIT {int(new)}"
    )
    con.execute("DELETE FROM records WHERE (source, record_id) IN (SELECT source, record_id FROM held_back)")
    t0 = time.perf_counter()
    link_place(con, work_dir=root / "work", memory_limit=memory_limit, threads=2, mode="full")
    print(f"base place linked in {time.perf_counter() - t0:.1f} s", flush=True)
    con.execute("CHECKPOINT")
    con.close()


def _run(root: Path, mode: str, memory_limit: str) -> tuple[float, dict[str, Any], str]:
    from joinedup.insight.link import link_place
    from joinedup.insight.store import connect

    store = root / "run.duckdb"
    shutil.copy(root / "base.duckdb", store)
    con = connect(store, memory_limit=memory_limit, threads=2)
    # By name: a base kept from an older version lacks the columns records has gained since.
    con.execute("INSERT INTO records BY NAME SELECT * FROM held_back")
    con.execute("CHECKPOINT")
    # The copy's 400 MB were still being written back to disk while the timed run read the
    # store, which swung a 5 s run by two seconds either way; flushed first, off the clock.
    os.sync()
    by_mode: dict[str, dict[str, Any]] = {
        "incremental": {"mode": "incremental"},
        "full, stored model": {"mode": "full", "retrain": False},
        "full, re-trained": {"mode": "full"},
    }
    kwargs = by_mode[mode]
    t0 = time.perf_counter()
    result = link_place(con, work_dir=root / "work", memory_limit=memory_limit, threads=2, **kwargs)
    seconds = time.perf_counter() - t0
    # The persons as a digest of their sorted records, not as Python sets of a million
    # records kept alive across the timed runs that follow (the collector walks them).
    (digest,) = con.execute(
        "SELECT md5(string_agg(members, ';' ORDER BY members)) FROM (SELECT string_agg(source || '|' "
        "|| record_id, ',' ORDER BY source, record_id) AS members FROM person_links GROUP BY person_id)"
    ).fetchall()[0]
    con.close()
    gc.collect()
    figures = {
        "records": result.records, "comparisons": result.comparisons, "persons": result.persons,
        "new": result.new_records, "changed": result.changed_records,
        "touched_persons": result.touched_persons, "merges": result.changes.merges,
        "splits": result.changes.splits, "timings": result.timings,
    }  # fmt: skip
    return seconds, figures, str(digest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records already linked")
    parser.add_argument("--new", type=int, default=10_000, help="new records to link")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory cap")
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the place here")
    parser.add_argument("--only", choices=["incremental", "full"], default=None,
                        help="run one mode (to measure its peak memory alone)")  # fmt: skip
    parser.add_argument("--one-record", default="", metavar="SOURCES",
                        help="comma-separated sources declared as holding each person once")  # fmt: skip
    args = parser.parse_args()
    declared = [name for name in args.one_record.split(",") if name]

    root = args.keep or Path(tempfile.mkdtemp(prefix="joinedup-incremental-"))
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "base.duckdb").exists():
        _build_base(root, args.records, args.new, args.seed, args.memory_limit, declared)
    modes = [m for m in MODES if args.only is None or m.startswith(args.only)]
    if args.only == "full":
        modes = ["full, re-trained"]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results: dict[str, dict[str, Any]] = {}
    partitions: dict[str, str] = {}
    for _ in range(args.repeats):
        for mode in modes:  # interleaved, so that a busy moment does not favour one mode
            seconds, figures, partition = _run(root, mode, args.memory_limit)
            entry = results.setdefault(mode, {"seconds": [], **figures})
            entry["seconds"].append(seconds)
            partitions[mode] = partition
    machine = f"{platform.machine()}, {platform.processor() or platform.platform()}"
    print(f"machine: {machine}, Python {platform.python_version()}; DuckDB threads 2, "
          f"memory limit {args.memory_limit}; CPUs {len(os.sched_getaffinity(0))}")  # fmt: skip
    print(f"{'mode':<22} {'median s':>9} {'runs':>22} {'comparisons':>12} {'persons':>9} "
          f"{'touched':>8} {'merges':>7} {'splits':>7}")  # fmt: skip
    for mode, entry in results.items():
        runs = ", ".join(f"{s:.2f}" for s in entry["seconds"])
        print(f"{mode:<22} {statistics.median(entry['seconds']):>9.2f} {runs:>22} "
              f"{entry['comparisons']:>12,} {entry['persons']:>9,} {entry['touched_persons']:>8,} "
              f"{entry['merges']:>7} {entry['splits']:>7}")  # fmt: skip
    for mode, entry in results.items():
        print(f"  {mode} stages: " + json.dumps({k: round(v, 2) for k, v in entry["timings"].items()}))
    if "incremental" in partitions and "full, stored model" in partitions:
        same = partitions["incremental"] == partitions["full, stored model"]
        print(f"incremental persons equal to the full re-link with the stored model: {same}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS: {peak / 1024:,.0f} MB (before linking: {rss_before / 1024:,.0f} MB)")
    print(f"new records: {results[modes[0]]['new']:,}; place after: {results[modes[0]]['records']:,} records")


if __name__ == "__main__":
    main()
