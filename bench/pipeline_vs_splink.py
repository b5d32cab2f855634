"""Benchmark: joinedup's whole pipeline against plain Splink 5, side by side in one run.

A synthetic place of N records (nine partner extracts as CSV, each with its mapping, written
untimed in a child process) is linked two ways, each in its own process under
``/usr/bin/time -v`` so that wall-clock time and peak memory are the operating system's
figures, not the script's:

* **joinedup** – the whole pipeline in one process: every extract through the manifest
  (``load_manifest`` + ``ingest_manifest``, each file checked, normalised and quarantined
  whole or not at all), link (train, block, score, cluster, stable person ids, stored pairs
  and model), and insight (headline figures and the four disclosure-controlled tables);
* **plain Splink** – Splink 5 on DuckDB given the same records, already cleaned and with the
  same derived columns (what joinedup's ingest and ``prepare_input`` produce, written to
  Parquet untimed), the same comparisons, blocking rules and training steps (prior, u by
  random sampling, one EM session per training rule), then ``predict`` and
  ``cluster_pairwise_predictions_at_threshold``. It is Splink's best case: it neither reads
  the nine raw files in their mixed formats nor checks them, and it writes no persons.

Both sides' persons are scored against the generator's truth (pairwise precision, recall,
F1, and persons known to three or more services). Sides are interleaved over --repeats runs;
medians are printed.

    .venv/bin/python bench/pipeline_vs_splink.py --records 1000000 --keep /work/benchdata/pvs1m
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RECORDS_PER_PERSON = 2.1

_JOINEDUP = """
import json, sys, time
from pathlib import Path
root = Path(sys.argv[1]); memory_limit = sys.argv[2]
t = {}
started = time.perf_counter()
from joinedup.insight import export
from joinedup.insight.context import PlaceContext
from joinedup.insight.link import link_place
from joinedup.insight.manifest import default_workers, ingest_manifest, load_manifest
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.insight.summary import headline
t["import"] = time.perf_counter() - started
store = root / "joinedup.duckdb"
store.unlink(missing_ok=True)
con = connect(store, memory_limit=memory_limit, threads=2)
seed_reference(con)
t0 = time.perf_counter()
entries = load_manifest(root / "extracts" / "place.toml", con)
# As `joinedup ingest --manifest` does: files read and normalised in worker processes.
result = ingest_manifest(con, entries, workers=default_workers(entries))
assert result.ok, result.failures
t["ingest"] = time.perf_counter() - t0
t0 = time.perf_counter()
linked = link_place(con, work_dir=root / "work", memory_limit=memory_limit, threads=2)
t["link"] = time.perf_counter() - t0
t0 = time.perf_counter()
ctx = PlaceContext(slug="bench", adult_population=int(sys.argv[3]))
headline(con, ctx)
for name in ("cohorts", "overlaps", "costs", "network"):
    export.build(name, con, ctx)
t["insight"] = time.perf_counter() - t0
t["total"] = time.perf_counter() - started
con.execute("COPY (SELECT source, record_id, person_id FROM person_links) TO '%s' (FORMAT parquet)"
            % (root / "joinedup_links.parquet").as_posix())
con.close()
print("RESULT " + json.dumps({"timings": t, "records": linked.records,
                               "comparisons": linked.comparisons, "persons": linked.persons}))
"""

_SPLINK = """
import json, logging, sys, time
from pathlib import Path
root = Path(sys.argv[1]); memory_limit = sys.argv[2]
t = {}
started = time.perf_counter()
import duckdb
from splink import DuckDBAPI, Linker
from joinedup.insight import model
from joinedup.insight.link import present_fields
from joinedup.insight.training import EM_PAIRS, U_PAIRS
t["import"] = time.perf_counter() - started
t0 = time.perf_counter()
con = duckdb.connect()
con.execute(f"SET memory_limit = '{memory_limit}'")
con.execute("SET threads = 2")
con.execute("SET preserve_insertion_order = false")  # as joinedup sets it: the same engine settings
con.execute(f"SET temp_directory = '{(root / 'splink-tmp').as_posix()}'")
frame = con.read_parquet((root / "model_input.parquet").as_posix()).to_arrow_table()
present = present_fields(frame)
db_api = DuckDBAPI(connection=con)
linker = Linker(db_api.register(frame, table_name="records_in"), model.settings(present),
                log_level=logging.ERROR)
t["read"] = time.perf_counter() - t0
t0 = time.perf_counter()
training = linker.training
training.estimate_probability_two_random_records_match(model.deterministic_rules(present), recall=0.8)
training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=42)
for rule in model.training_rules(present):
    try:
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True,
            max_pairs=max(2e5, min(EM_PAIRS, frame.num_rows * 2.0)))
    except Exception as exc:  # Splink refuses a session that finds no pairs; the others train
        print("EM session skipped:", str(exc).splitlines()[0], file=sys.stderr)
t["train"] = time.perf_counter() - t0
t0 = time.perf_counter()
predictions = linker.inference.predict(threshold_match_probability=0.5)
t["predict"] = time.perf_counter() - t0
t0 = time.perf_counter()
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
    predictions, threshold_match_probability=model.DEFAULT_THRESHOLD)
con.execute("COPY (SELECT unique_id, cluster_id FROM %s) TO '%s' (FORMAT parquet)"
            % (clusters.physical_name, (root / "splink_links.parquet").as_posix()))
t["cluster"] = time.perf_counter() - t0
t["total"] = time.perf_counter() - started
n = con.execute("SELECT count(*) FROM %s" % predictions.physical_name).fetchone()[0]
print("RESULT " + json.dumps({"timings": t, "records": frame.num_rows, "pairs_at_half": n}))
"""


def _generate(people: int, out: Path, seed: int) -> None:
    code = (
        "from pathlib import Path; from joinedup.synth.insight import generate_place; "
        f"generate_place({people}, Path({str(out)!r}), seed={seed}, formats='csv')"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _prepare(root: Path, records: int, seed: int, memory_limit: str) -> None:
    """Untimed: the place, its manifest, and the cleaned model input plain Splink is given."""
    from joinedup.insight.link import prepare_input
    from joinedup.insight.manifest import ingest_manifest, load_manifest, manifest_text
    from joinedup.insight.store import connect

    extracts = root / "extracts"
    if not (extracts / "truth.csv").exists():
        _generate(int(records / RECORDS_PER_PERSON), extracts, seed)
    triples = []
    for mapping in sorted(extracts.glob("*.toml")):
        if mapping.name != "place.toml":
            triples.append((mapping.stem, extracts / f"{mapping.stem}.csv", mapping))
    (extracts / "place.toml").write_text(manifest_text(triples, extracts), encoding="utf-8")
    if (root / "model_input.parquet").exists():
        return
    store = root / "prepare.duckdb"
    store.unlink(missing_ok=True)
    con = connect(store, memory_limit=memory_limit, threads=2)
    result = ingest_manifest(con, load_manifest(extracts / "place.toml", con))
    assert result.ok, result.failures
    import pyarrow.parquet as pq

    pq.write_table(prepare_input(con), root / "model_input.parquet")
    con.close()
    store.unlink()


def _timed(code: str, *args: str) -> dict[str, Any]:
    """Run one side in a fresh process under /usr/bin/time -v; its figures and the OS's.

    time -v reports the largest single process's peak, and joinedup's ingest runs worker
    processes beside the main one, so the sum over the process tree is also sampled (every
    50 ms with psutil) and reported as the peak that counts against the 3 GB."""
    import psutil

    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", sys.executable, "-c", code, *args],
            stdout=out_file, stderr=err_file, text=True,
        )  # fmt: skip
        tree_peak = 0
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            with contextlib.suppress(psutil.Error):  # the side ended while being read
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):  # a worker ended since the listing
                        total += p.memory_info().rss
            tree_peak = max(tree_peak, total)
            time.sleep(0.05)
        out_file.seek(0)
        err_file.seek(0)
        stdout, stderr = out_file.read(), err_file.read()
    # Splink's progress bars share stdout (carriage returns, no newline), so look anywhere.
    found = re.search(r"RESULT (\{.*\})", stdout)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"a side failed:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    out: dict[str, Any] = json.loads(found.group(1))
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    assert rss and wall, stderr[-2000:]
    parts = [float(p) for p in wall.group(1).split(":")]
    out["wall_s"] = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    out["peak_rss_mb"] = int(rss.group(1)) / 1024
    out["peak_tree_rss_mb"] = tree_peak / 2**20
    return out


def _score(root: Path) -> dict[str, dict[str, float]]:
    import pandas as pd

    from joinedup.insight.evaluate import evaluate_frames, read_truth

    truth = read_truth(root / "extracts" / "truth.csv")
    ours = pd.read_parquet(root / "joinedup_links.parquet")
    theirs = pd.read_parquet(root / "splink_links.parquet")
    split = theirs["unique_id"].str.split("|", n=1, expand=True)
    theirs = pd.DataFrame({"source": split[0], "record_id": split[1], "person_id": theirs["cluster_id"]})
    scores = {}
    for name, links in (("joinedup", ours), ("plain Splink", theirs)):
        ev = evaluate_frames(links, truth)
        kept = truth.merge(links[["source", "record_id"]], on=["source", "record_id"])
        three = int((links.groupby("person_id")["source"].nunique() >= 3).sum())
        true_three = int((kept.groupby("person")["source"].nunique() >= 3).sum())
        scores[name] = {
            "precision": round(ev.precision, 4), "recall": round(ev.recall, 4), "f1": round(ev.f1, 4),
            "known_to_3_plus": three, "truth_known_to_3_plus": true_three,
            "known_to_3_plus_error": round(abs(three - true_three) / max(true_three, 1), 4),
        }  # fmt: skip
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory cap, both sides")
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the place here")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="joinedup-pvs-"))
    root.mkdir(parents=True, exist_ok=True)
    _prepare(root, args.records, args.seed, args.memory_limit)
    adults = str(max(int(args.records / RECORDS_PER_PERSON) * 20, 1))
    runs: dict[str, list[dict[str, Any]]] = {"joinedup": [], "plain Splink": []}
    for _ in range(args.repeats):  # interleaved, so that a busy moment does not favour one side
        runs["joinedup"].append(_timed(_JOINEDUP, str(root), args.memory_limit, adults))
        runs["plain Splink"].append(_timed(_SPLINK, str(root), args.memory_limit))
    scores = _score(root)
    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, Python "
          f"{platform.python_version()}; DuckDB 2 threads, memory limit {args.memory_limit}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for side, entries in runs.items():
        walls = [e["wall_s"] for e in entries]
        print(json.dumps({
            "side": side, "records": entries[0]["records"],
            "wall_s_median": round(statistics.median(walls), 2), "wall_s_runs": [round(w, 2) for w in walls],
            "peak_rss_mb_max": round(max(e["peak_rss_mb"] for e in entries)),
            "peak_tree_rss_mb_max": round(max(e["peak_tree_rss_mb"] for e in entries)),
            "stages_s_first_run": {k: round(v, 2) for k, v in entries[0]["timings"].items()},
            **scores[side],
        }))  # fmt: skip
    ratio = statistics.median(e["wall_s"] for e in runs["joinedup"]) / statistics.median(
        e["wall_s"] for e in runs["plain Splink"]
    )
    print(f"joinedup whole pipeline / plain Splink link only, wall clock: {ratio:.2f}")


if __name__ == "__main__":
    main()
