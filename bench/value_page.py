"""Benchmark: a collaboration's public value account page, served from its stored result by
a real server (uvicorn in its own process, over HTTP on localhost).

    .venv/bin/python bench/value_page.py [--persons 100000] [--programme 5000] [--requests 50]

Target (issue 10): under 300 ms. The account is computed once (in the seed, before the
server starts, as Recompute would) and stored; each view reads the stored result, opens the
insight store once to see whether its data changed, and renders. Prints the median and the
95th percentile of many requests, for a lead (the controlled copy) and an analyst (exact).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from joinedup.config import Settings  # noqa: E402
from joinedup.db.session import make_session  # noqa: E402

COLLAB = "fulfilling-lives-in-northbrook"
URL = f"/places/northbrook/collaborations/{COLLAB}/value"


def seed(settings: Settings, persons: int, programme: int, timings: dict[str, float]) -> None:
    from joinedup.collaborations.charters import get_collaboration
    from joinedup.insight.context import place_context
    from joinedup.insight.store import connect
    from joinedup.places.service import get_place
    from joinedup.synth.programme import PROGRAMME_SOURCE, WINDOW_QUARTERS, write_programme_store
    from joinedup.value import measure_settings, programme_settings
    from joinedup.value import settings as vs
    from joinedup.value.catalogue import STARTER_MEASURES
    from joinedup.value.results import compute, data_version, store_result
    from tests.support.demo_like import seed_demo_like

    with make_session(settings) as session:
        seed_demo_like(session)
        place = get_place(session, "northbrook")
        assert place is not None
        collab = get_collaboration(session, place, COLLAB)
        assert collab is not None
        path = Path(settings.insight_dir) / "northbrook.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        con = connect(path, memory_limit="2GB", threads=2)
        t = time.perf_counter()
        write_programme_store(con, persons=persons, programme=programme, seed=1)
        timings["store"] = time.perf_counter() - t
        timings["records"] = con.execute("SELECT count(*) FROM records").fetchone()[0]  # type: ignore[index]
        account = vs.ensure_account(session, collab, by="bench")
        programme_settings.save_programme(
            session, account, {"kind": "source", "source": PROGRAMME_SOURCE}, by="bench"
        )
        measure_settings.save_measures(
            session, account, [vs.measure_dict(s) for s in STARTER_MEASURES], by="bench"
        )
        vs.save_parameters(session, account, {**account.parameters, "window_before": WINDOW_QUARTERS[0],
                                              "window_after": WINDOW_QUARTERS[1]}, by="bench")  # fmt: skip
        rule = place_context("northbrook", settings).rule
        t = time.perf_counter()
        result = compute(con, account, rule)
        timings["compute"] = time.perf_counter() - t
        store_result(session, account, result, rule=rule, version=data_version(con), by="bench")
        session.commit()
        con.close()


def timed(client: httpx.Client, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    elapsed = time.perf_counter() - t
    assert r.status_code == 200, (url, r.status_code)
    return elapsed * 1000


def measure(server: Any, email: str, label: str, requests: int) -> None:
    from tests.support.demo_like import DEMO_PASSWORD

    with httpx.Client(base_url=server.url, timeout=60) as client:
        page = client.get("/sign-in")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/sign-in", data={"csrf_token": token, "email": email, "password": DEMO_PASSWORD},
                    follow_redirects=False)  # fmt: skip
        first = timed(client, URL)
        views = [timed(client, URL) for _ in range(requests)]
        median = statistics.median(views)
        p95 = sorted(views)[int(0.95 * len(views)) - 1]
        print(
            f"{label}: first view {first:.0f} ms; median of {requests} views {median:.0f} ms, "
            f"95th percentile {p95:.0f} ms (target < 300 ms) -> {'met' if median < 300 else 'MISSED'}"
        )
        charts = [timed(client, f"{URL}/charts/{name}.svg") for name in ("effects", "matrix", "tornado")]
        print(f"  its three charts: {', '.join(f'{c:.0f}' for c in charts)} ms")


def main() -> None:
    from tests.support.server import running_server

    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--programme", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    timings: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp), seed=lambda s: seed(s, args.persons, args.programme, timings)) as server,
    ):
        print(
            f"store of {args.persons:,} persons ({timings['records']:,.0f} records) with a programme of "
            f"{args.programme:,}: "
            f"{timings['store']:.1f} s; "
            f"account computed and stored in {timings['compute']:.1f} s"
        )
        measure(server, "lead@northbrook.example", "lead (controlled account)", args.requests)
        measure(server, "analyst@northbrook.example", "analyst (exact account)", args.requests)


if __name__ == "__main__":
    main()
