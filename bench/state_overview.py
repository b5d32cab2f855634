"""Benchmark: a place's state of collaboration (overview page and board pack PDF) at scale,
served by a real server (uvicorn in its own process, over HTTP on localhost).

    .venv/bin/python bench/state_overview.py [--persons 250000] [--requests 30] [--pdfs 3]

Targets (issue 11): with 1,000,000 linked records and ten survey rounds, the overview in
under 300 ms once computed; the board pack as a PDF in under 10 s. The page of demand and
cost by quarter is timed the same way (no target of its own; the overview's is used).

The place: the demo-like Northbrook (partners, collaborations with measures and a value
account), an insight store written directly with ``--persons`` people (about four records
each: 250,000 people give about a million records, already linked), and ten closed survey
rounds (five readiness rounds of 120 staff, five citizen rounds of 2,000 residents) made by the
demo's own generators. Writing all that is not timed. The first view computes and controls
every figure (all financial years); later views read what was kept per data version.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from joinedup.config import Settings  # noqa: E402
from joinedup.db.session import make_session  # noqa: E402

URL = "/places/northbrook/state"
ROUNDS = 5  # of each instrument: ten in all


def seed(settings: Settings, persons: int, timings: dict[str, float]) -> None:
    from joinedup.insight.store import connect
    from joinedup.places.service import get_place
    from joinedup.surveys import results
    from joinedup.synth.programme import write_programme_store
    from joinedup.synth.surveys import DEMO_AREAS, _closed_round, _store, citizen_rows, readiness_rows
    from tests.support.demo_like import seed_demo_like

    with make_session(settings) as session:
        seed_demo_like(session)
        place = get_place(session, "northbrook")
        assert place is not None
        path = Path(settings.insight_dir) / "northbrook.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        con = connect(path, memory_limit="2GB", threads=2)
        t = time.perf_counter()
        write_programme_store(con, persons=persons, programme=5_000, seed=1)
        timings["store"] = time.perf_counter() - t
        timings["records"] = con.execute("SELECT count(*) FROM records").fetchone()[0]
        con.close()
        t = time.perf_counter()
        first = date(2022, 10, 1)
        for i in range(ROUNDS):
            opens = first + timedelta(days=365 * i // 2 + 30)
            staff = _closed_round(session, place, "readiness", f"Readiness round {i + 1}", opens)
            _store(
                session,
                staff,
                readiness_rows(place, 120, seed=100 + i, uplift=float(i)),
                datetime.combine(opens + timedelta(days=10), datetime.min.time(), UTC),
            )
            voice = _closed_round(
                session,
                place,
                "citizen_voice",
                f"Residents' round {i + 1}",
                opens + timedelta(days=7),
                areas=DEMO_AREAS,
            )
            rows, _truth = citizen_rows(2_000, seed=200 + i, areas=list(DEMO_AREAS))
            _store(
                session, voice, rows, datetime.combine(opens + timedelta(days=20), datetime.min.time(), UTC)
            )
            session.flush()
            results.results(session, staff)
            results.results(session, voice)
        session.commit()
        timings["rounds"] = time.perf_counter() - t


def timed(client: httpx.Client, url: str) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    r = client.get(url)
    elapsed = (time.perf_counter() - t) * 1000
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return elapsed, r


def signed_in(server: Any, email: str) -> httpx.Client:
    from tests.support.demo_like import DEMO_PASSWORD

    client = httpx.Client(base_url=server.url, timeout=900)
    page = client.get("/sign-in")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/sign-in", data={"csrf_token": token, "email": email, "password": DEMO_PASSWORD},
                follow_redirects=False)  # fmt: skip
    return client


def summary(label: str, views: list[float], target_ms: float) -> str:
    median = statistics.median(views)
    p95 = sorted(views)[max(0, int(0.95 * len(views)) - 1)]
    verdict = "met" if median < target_ms else "MISSED"
    return (
        f"{label}: median of {len(views)} {median:,.0f} ms, 95th percentile {p95:,.0f} ms "
        f"(target < {target_ms:,.0f} ms) -> {verdict}"
    )


def measure(server: Any, email: str, label: str, requests: int, pdfs: int) -> None:
    client = signed_in(server, email)
    try:
        first, page = timed(client, URL)
        print(f"{label}: first view {first / 1000:,.1f} s (computes and controls every year's figures)")
        if "Readiness round 5" not in page.text and "readiness" not in page.text.lower():
            print("  warning: the overview does not mention the readiness rounds")
        views = [timed(client, URL)[0] for _ in range(requests)]
        print("  " + summary("overview", views, 300))
        first, _ = timed(client, URL + "/quarters")
        print(f"  quarters page: first view {first / 1000:,.1f} s (controls eight quarters with their years)")
        quarters = [timed(client, URL + "/quarters")[0] for _ in range(requests)]
        print("  " + summary("quarters page", quarters, 300))
        if pdfs:
            times = []
            for _ in range(pdfs):
                ms, pdf = timed(client, URL + "/board-pack.pdf")
                assert pdf.content.startswith(b"%PDF"), "not a PDF"
                times.append(ms)
            print(
                "  "
                + summary("board pack PDF", times, 10_000)
                + f"; {len(pdf.content) / 1024:,.0f} KB; runs "
                + ", ".join(f"{t / 1000:.1f} s" for t in times)
            )

    finally:
        client.close()


def main() -> None:
    from tests.support.server import running_server

    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=250_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--pdfs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    timings: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp), seed=lambda s: seed(s, args.persons, timings), timeout=1800) as server,
    ):
        print(f"store of {args.persons:,} persons ({timings['records']:,.0f} records): "
              f"{timings['store']:.1f} s; {2 * ROUNDS} survey rounds: {timings['rounds']:.1f} s")  # fmt: skip
        measure(server, "lead@northbrook.example", "lead (controlled figures)", args.requests, args.pdfs)
        measure(server, "analyst@northbrook.example", "analyst (exact figures)", args.requests, 0)
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
