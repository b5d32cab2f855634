"""Benchmark: a synthetic place of N records, ingest → link → insight, end to end.

Prints each stage's time, comparisons per second, peak RSS, pairwise precision/recall/F1
against the truth, persons known to 3+ services against the truth, and the same figures
for the deterministic rule many councils use today (exact NHS number, or exact surname and
date of birth). Data generation happens first in a child process and is not timed.

    .venv/bin/python bench/insight_synthetic.py --records 100000
    .venv/bin/python bench/insight_synthetic.py --records 40000 --hard --seed 2

``--hard`` plants the hard cases of ``synth/hard_cases.py`` (twins, family members at one
address, married-and-moved, swapped names, name and year of birth only, NHS numbers mistyped
yet valid) on about 2% of people or records each, and reports the figures on each kind too.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Synthetic places average about 2.1 records per person (repeat contacts, several services).
RECORDS_PER_PERSON = 2.1


def _generate(people: int, out: Path, seed: int, hard: bool) -> None:
    code = (
        "import sys; from pathlib import Path; from joinedup.synth.insight import generate_place; "
        "from joinedup.synth.hard_cases import HardCases; "
        f"c = HardCases() if {hard} else None; "
        f"p = generate_place({people}, Path({str(out)!r}), seed={seed}, formats='csv', adjust=c); "
        f"c.write(Path({str(out)!r})) if c else None; print(p.records)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _known_to_three(links: object) -> int:
    import pandas as pd

    frame = links if isinstance(links, pd.DataFrame) else pd.DataFrame(links)
    per = frame.groupby(frame.columns[2])["source"].nunique()
    return int((per >= 3).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory cap")
    parser.add_argument("--keep", type=Path, default=None, help="keep the place here")
    parser.add_argument("--hard", action="store_true", help="plant the hard cases, report each kind")
    parser.add_argument(
        "--one-record", default="", metavar="SOURCES",
        help="comma-separated sources to declare as holding each person once (one_record_sources)",
    )  # fmt: skip
    args = parser.parse_args()
    declared = [name for name in args.one_record.split(",") if name]

    root = args.keep or Path(tempfile.mkdtemp(prefix="joinedup-bench-"))
    extracts = root / "extracts"
    people = int(args.records / RECORDS_PER_PERSON)
    if not (extracts / "truth.csv").exists():
        _generate(people, extracts, args.seed, args.hard)

    from joinedup.insight import export
    from joinedup.insight.context import PlaceContext
    from joinedup.insight.evaluate import (
        deterministic_links,
        evaluate_by_kind,
        evaluate_frames,
        links_frame,
        read_truth,
    )
    from joinedup.insight.link import link_place
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.reference_data import seed_reference
    from joinedup.insight.store import connect
    from joinedup.insight.summary import headline

    store = root / "place.duckdb"
    store.unlink(missing_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    con = connect(store, memory_limit=args.memory_limit, threads=2)
    seed_reference(con)
    t0 = time.perf_counter()
    reports = ingest_directory(con, extracts)
    if declared:  # as if their mappings said one_record_per_person = true
        con.execute(
            "UPDATE sources SET one_record_per_person = true WHERE list_contains(?, name)", [declared]
        )
    timings["ingest"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = link_place(con, work_dir=root / "work", memory_limit=args.memory_limit, threads=2)
    timings["link"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ctx = PlaceContext(slug="bench", adult_population=max(people * 20, 1))
    headline(con, ctx)
    for name in ("cohorts", "overlaps", "costs", "network"):
        export.build(name, con, ctx)
    timings["insight"] = time.perf_counter() - t0
    timings["end_to_end"] = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    truth = read_truth(extracts / "truth.csv")
    model_links = links_frame(con)
    model = evaluate_frames(model_links, truth)
    rule_links = deterministic_links(con)
    rule = evaluate_frames(rule_links, truth)
    kept = truth.merge(model_links[["source", "record_id"]], on=["source", "record_id"])
    true_three = _known_to_three(kept)
    model_three = _known_to_three(model_links)
    rule_three = _known_to_three(rule_links)
    by_kind: dict[str, dict[str, float]] = {}
    if (extracts / "hard_cases.csv").exists():
        import pandas as pd

        kinds = pd.read_csv(extracts / "hard_cases.csv", dtype=str, keep_default_na=False)
        for name, links in (("model", model_links), ("deterministic_rule", rule_links)):
            for kind, ev in evaluate_by_kind(links, truth, kinds).items():
                by_kind.setdefault(kind, {"records": ev.records})[name] = {
                    "precision": round(ev.precision, 4), "recall": round(ev.recall, 4),
                    "f1": round(ev.f1, 4), "pairs": ev.true_pairs,
                }  # fmt: skip
    con.close()

    out = {
        "one_record_sources": declared,
        "records": int(sum(r.records for r in reports)),
        "quarantined": int(sum(r.quarantined for r in reports)),
        "people": people,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "link_stages_s": {k: round(v, 2) for k, v in result.timings.items()},
        "comparisons": result.comparisons,
        "comparisons_per_second": round(result.comparisons_per_second),
        "peak_rss_mb": round(peak_rss_mb),
        "model": {"precision": round(model.precision, 4), "recall": round(model.recall, 4),
                  "f1": round(model.f1, 4), "known_to_3_plus": model_three},
        "deterministic_rule": {"precision": round(rule.precision, 4),
                               "recall": round(rule.recall, 4), "f1": round(rule.f1, 4),
                               "known_to_3_plus": rule_three},
        "truth_known_to_3_plus": true_three,
        "known_to_3_plus_error": round(abs(model_three - true_three) / max(true_three, 1), 4),
        "hard_cases": by_kind,
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
    }  # fmt: skip
    print(json.dumps(out, indent=2))
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
