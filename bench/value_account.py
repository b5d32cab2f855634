"""Benchmark: the whole public value account on a place of about 1,000,000 records.

    .venv/bin/python bench/value_account.py [--persons 250000] [--programme 5000] [--runs 3]
    /usr/bin/time -v .venv/bin/python bench/value_account.py      # for peak memory

The store's sources, records and person_links are written directly (no extracts, no
linkage: `joinedup.synth.programme.write_programme_store`), with a programme of 5,000
persons selected on prior use, a planted effect and a background trend. Then, timed: the
programme from its caseload source, 8 measures (one per service), the person × quarter
panel, propensity matching against every other person, the DiD per measure, the valuation
chain, the tornado and 10,000 Monte Carlo draws. Target (issue 10): under 10 s.
Prints what it measured: the median of the runs and each run.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from joinedup.insight.store import connect
from joinedup.synth.programme import PROGRAMME_SOURCE, STORE_SERVICES, write_programme_store
from joinedup.value.account import CostLine, MeasureSpec, Parameters, compute_account, programme_from_source


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=250_000)
    parser.add_argument("--programme", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        truth = write_programme_store(con, persons=args.persons, programme=args.programme, seed=11)
        (n_records,) = con.execute("SELECT count(*) FROM records").fetchall()[0]
        print(f"store: {n_records:,} records, {args.persons:,} persons, programme {truth.n_treated:,} "
              f"(written in {time.perf_counter() - t0:.1f} s, not timed)")  # fmt: skip
        measures = [
            MeasureSpec(s.source, s.service, (s.service,), unit_cost_code=s.cost_item) for s in STORE_SERVICES
        ]
        council, trust = "Northbrook Borough Council", "Northbrook and Vale NHS Foundation Trust"
        costs = (CostLine(council, 0, 4e6), CostLine(council, 1, 4e6), CostLine(trust, 0, 1e6))
        params = Parameters(window_before=3, window_after=3, mc_draws=10_000, costs=costs)
        times, cpu = [], []
        load = os.getloadavg()[0]
        for _ in range(args.runs):
            t1, c1 = time.perf_counter(), _cpu()
            programme = programme_from_source(con, PROGRAMME_SOURCE)
            account = compute_account(con, programme, measures, params)
            times.append(time.perf_counter() - t1)
            cpu.append(_cpu() - c1)
        con.close()
    print(f"cpu time (user + system, all threads): median {statistics.median(cpu):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in cpu)})")  # fmt: skip
    planted = next(m for m in account.measures if m.key == "community_mental_health")
    print(f"account: median {statistics.median(times):.2f} s over {args.runs} runs "
          f"({', '.join(f'{t:.2f}' for t in times)}); matched {account.n_matched:,} of "
          f"{account.n_programme:,} from {account.n_comparison:,} others; "
          f"credible: {account.comparison_credible}")  # fmt: skip
    print(
        f"planted effect {truth.planted_effect:.4f}, estimated {planted.effect:.4f} "
        f"[{planted.ci_low:.4f}, {planted.ci_high:.4f}], before/after {planted.naive_effect:.4f}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average at start {load:.1f}"
    )


if __name__ == "__main__":
    main()
