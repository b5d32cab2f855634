"""Benchmark: comparing many places' packages (issue 11's target: 300 places in under 5 s).

    .venv/bin/python bench/compare_places.py [--places 300] [--runs 5]

Writes the packages of that many simulated places (synth/places.random_profiles: sizes
from 30,000 to 1.2 million adults, with and without survey rounds, and a value account for
each active collaboration and a withheld one for each paused one), each through the real
package writer (validated with frictionless as it is written; not timed). Then times, for
each run, what `joinedup compare` and the collection page do: read every package from its
directory, check it (schema, method version, disclosure rule), and compare them (intervals
and ranks on every row). Prints the median and the range of the runs, and the machine.
Also times the frictionless library's own validation of one package, to show why the
reader uses its own checks against the same schemas.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from joinedup.state.compare import compare
from joinedup.state.load import check_package
from joinedup.state.package import frictionless_errors
from joinedup.synth.places import place_package, random_profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--places", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        dirs = [place_package(p, Path(tmp) / p.slug) for p in random_profiles(args.places)]
        print(f"wrote {len(dirs)} packages in {time.perf_counter() - start:.1f} s (not timed)")
        times, rows, accounts = [], 0, 0
        for _ in range(args.runs):
            start = time.perf_counter()
            loaded = [check_package(d) for d in dirs]
            result = compare(loaded)
            times.append(time.perf_counter() - start)
            assert not result.problems, result.problems[:3]
            rows = sum(len(r.cells) for s in result.sections for r in s.rows)
            accounts = len(result.value)
        start = time.perf_counter()
        assert frictionless_errors(dirs[0]) == []
        one = time.perf_counter() - start
    print(f"compared {args.places} places ({rows:,} figures, {accounts:,} value accounts) in "
          f"{args.runs} runs: median "
          f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    print(f"frictionless validation of one package: {one * 1000:.0f} ms "
          f"(×{args.places} = {one * args.places:.0f} s)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
