"""Persons known to 3 or more services: the truth, the linked persons' count and the count the
model expects once its doubt is allowed for (``insight/count_doubt.py``), on kept synthetic
places (``bench/insight_synthetic.py --keep DIR``, linked, with their truth.csv).

    .venv/bin/python bench/insight_synthetic.py --records 40000 --seed 1 --hard --keep /tmp/hard1
    .venv/bin/python bench/count_doubt.py /tmp/hard1 [/tmp/place2 ...] [--seeds 3]

Each place's store is copied first (reading decisions makes the review tables where they are
missing). The truth counts the true persons whose linked records hold 3 or more sources, so
quarantined records count on neither side.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from joinedup.insight import count_doubt


def _measure(place: Path, seeds: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="joinedup-doubt-"))
    try:
        shutil.copy(place / "place.duckdb", work / "place.duckdb")
        con = duckdb.connect(str(work / "place.duckdb"))
        truth_csv = place / "extracts" / "truth.csv"
        (truth,) = con.execute(
            f"SELECT count(*) FROM (SELECT t.person FROM read_csv('{truth_csv}', all_varchar = true) t "  # noqa: S608
            "JOIN person_links l USING (source, record_id) GROUP BY t.person "
            "HAVING count(DISTINCT t.source) >= 3)"
        ).fetchall()[0]
        runs = []
        for seed in range(seeds):
            started = time.perf_counter()
            found = count_doubt.known_to_three(con, seed=seed)
            assert found is not None, f"{place} has no linked persons"
            runs.append((found, time.perf_counter() - started))
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first = runs[0][0]

    def off(value: float) -> float:
        return round(100 * (value - truth) / truth, 2)

    return {
        "place": place.name, "truth": truth, "linked": first.linked, "linked_off_pct": off(first.linked),
        "expected": [round(f.expected, 1) for f, _ in runs],
        "expected_off_pct": [off(f.expected) for f, _ in runs],
        "seconds": [round(s, 2) for _, s in runs],
        "doubtful_pairs": first.doubtful_pairs, "records_drawn": first.records_drawn,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("places", type=Path, nargs="+", help="directories kept by insight_synthetic.py")
    parser.add_argument("--seeds", type=int, default=3, help="draws of the doubtful pairs, each seeded")
    args = parser.parse_args()
    for place in args.places:
        print(json.dumps(_measure(place, args.seeds)), flush=True)


if __name__ == "__main__":
    main()
