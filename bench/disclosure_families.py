"""Benchmark: what protecting a place's figures against subtraction costs.

    .venv/bin/python bench/disclosure_families.py [--people 2500] [--seed 2025]

Builds and links a synthetic place (the demo's generator), then times each family of
figures (needs with cohorts; services with caseloads and pairs; one financial year's
demand) three ways, side by side: primary suppression alone (what the product did before
issue 7), the family rule without the linear-programming audit, and the whole policy with
the audit. Prints medians of five runs and how many cells each hides.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from joinedup.insight import controlled, demand, figure_cache, overlaps
from joinedup.insight import disclosure_family as family_mod
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import DisclosureRule, control_counts
from joinedup.insight.link import link_place
from joinedup.insight.periods import available_years
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.synth.insight import generate_place


def _median(fn: Callable[[], object], runs: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        figure_cache.reset()  # measure the first view after a change, not the cache
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_place(args.people, root / "extracts", seed=args.seed)
        con = connect(root / "place.duckdb", memory_limit="2GB", threads=2)
        seed_reference(con)
        ingest_directory(con, root / "extracts")
        link_place(con, work_dir=root / "work", explain_dir=root / "explain")
        ctx = PlaceContext(slug="bench", rule=DisclosureRule())
        year = available_years(con)[0]
        period = demand.Period(year.start, year.end)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
              f"{args.people:,} people (the demo place at the defaults), seed {args.seed}; year {year.label}")
        heads = ("primary only", "family rule", "with audit")
        print(f"{'family':<34}" + "".join(f"{h:>14}" for h in heads)
              + f"{'cells':>8}{'small':>8}{'hidden':>8}")
        cases = [
            ("needs (combinations, cohorts)", lambda: overlaps.need_combinations(con),
             lambda: controlled.need_figures(con, ctx)),
            ("services (caseloads, pairs)", lambda: overlaps.service_combinations(con),
             lambda: controlled.service_figures(con, ctx)),
            (f"demand in {year.label}", lambda: demand.demand_by_service(con, period=period),
             lambda: controlled.controlled_demand(con, ctx, demand.DEFAULT_PRICE_YEAR, period)),
        ]
        original = family_mod._audit
        for name, raw, protected in cases:
            before, primary = _median(lambda raw=raw: control_counts(raw()["persons"].tolist(), ctx.rule))
            small = sum(v is None for v in primary)  # type: ignore[union-attr]
            family_mod._audit = lambda *a, **k: ({}, {})  # type: ignore[assignment]
            rule_only, _ = _median(protected)
            family_mod._audit = original  # type: ignore[assignment]
            full, result = _median(protected)
            table = result[0] if isinstance(result, tuple) else result.combinations  # type: ignore[union-attr]
            column = "events" if isinstance(result, tuple) else "persons"
            hidden = sum(v is None for v in table[column])
            print(f"{name:<34}{before * 1000:>12.0f}ms{rule_only * 1000:>12.0f}ms{full * 1000:>12.0f}ms"
                  f"{len(table):>8}{small:>8}{hidden:>8}")
        con.close()


if __name__ == "__main__":
    main()
