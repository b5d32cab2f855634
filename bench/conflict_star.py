"""Benchmark: a file built to make the conflict check's rebuild explode.

K records share a name, a date of birth and a sex, each with its own valid NHS number and
its own postcode; one more record, in another source, holds the name and date of birth
alone. Every one of the K is strongly linked to that record, so connected components make
one person of K + 1 records, and the conflict check (``insight/conflicts.py``) asks the
model about every pair of the K: K(K-1)/2 pairs, most of them cannot-links.

The place is a small synthetic one (400 people) linked first, untimed; the K + 1 records are
then added and linked incrementally (timed: ``link_place`` from start to end). Run it under
``/usr/bin/time -v`` for the peak memory.

Above ``--max-block`` (default: the setting's, 2,000) the run is stopped before scoring
(``insight/block_limits.py``), and this reports how soon; a larger limit lets it run.

    /usr/bin/time -v .venv/bin/python bench/conflict_star.py --k 2000 --max-block 100000
    /usr/bin/time -v .venv/bin/python bench/conflict_star.py --k 10000
"""

from __future__ import annotations

import argparse
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path


def _postcode(i: int) -> str:
    return f"NB{i % 9 + 1} {i % 10}{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=2000, help="records with their own NHS numbers")
    parser.add_argument("--max-block", type=int, default=None, help="records one block may hold")
    args = parser.parse_args()

    from joinedup.insight.block_limits import DEFAULT_MAX_BLOCK
    from joinedup.insight.link import LinkError, link_place
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.store import connect
    from joinedup.synth.insight import generate_place
    from joinedup.synth.insight_people import nhs_number

    root = Path(tempfile.mkdtemp(prefix="joinedup-star-"))
    try:
        generate_place(400, root / "extracts", seed=5, formats="csv")
        con = connect(root / "place.duckdb", memory_limit="2GB", threads=2)
        ingest_directory(con, root / "extracts")
        link_place(con, work_dir=root / "work", seed=42)
        sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM records ORDER BY 1").fetchall()]
        planted = (
            "INSERT INTO records SELECT * REPLACE (? AS record_id, 'OLIVER' AS forename, "
            "'HARTLEY' AS surname, 'Oliver' AS forename_raw, 'Hartley' AS surname_raw, "
            "DATE '1984-06-12' AS date_of_birth, 'M' AS sex, ? AS postcode, NULL AS address_line, "
            "NULL AS uprn, ? AS nhs_number, NULL AS ni_number) FROM records WHERE source = ? LIMIT 1"
        )
        rng = random.Random(1)
        for i in range(args.k):
            con.execute(planted, [f"STAR-{i}", _postcode(i), nhs_number(rng), sources[i % 2]])
        con.execute(planted, ["STAR-BRIDGE", None, None, sources[2]])
        t0 = time.perf_counter()
        try:
            result = link_place(
                con, work_dir=root / "work", mode="incremental", max_block=args.max_block or DEFAULT_MAX_BLOCK
            )
        except LinkError as exc:
            print(f"K {args.k}: stopped in {time.perf_counter() - t0:.1f} s: {exc}")
            return
        seconds = time.perf_counter() - t0
        persons, largest = con.execute(
            "SELECT count(DISTINCT person_id), max(n) FROM (SELECT person_id, count(*) OVER "
            "(PARTITION BY person_id) AS n FROM person_links WHERE record_id LIKE 'STAR-%')"
        ).fetchall()[0]
        (scored,) = con.execute("SELECT count(*) FROM link_conflict_pairs").fetchall()[0]
        con.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"K {args.k}: linked in {seconds:.1f} s; stages "
          + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items() if k != "total"))  # fmt: skip
    print(f"pairs asked about {scored:,}; kept apart {result.kept_apart:,}; "
          f"the K + 1 records in {persons} persons, the largest of {largest}")  # fmt: skip


if __name__ == "__main__":
    main()
