"""Benchmark: the results page of a round with 10,000 responses, served by the ASGI app.

    .venv/bin/python bench/surveys_results_page.py [--n 10000]

Target (issue 4): under 300 ms. Results are computed once per change of answers and kept
on the round, so the first view after a change is the slow one; both are printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

import joinedup.db.models  # noqa: F401
from joinedup.config import Settings
from joinedup.db.migrate import upgrade_to_head
from joinedup.db.session import session_scope
from joinedup.places.models import Sector
from joinedup.places.roles import Role
from joinedup.places.service import add_partner, create_place
from joinedup.places.users import create_user, set_role
from joinedup.surveys.rounds import create_round
from joinedup.synth.surveys import _store, citizen_rows, readiness_rows
from joinedup.web.app import create_app

PASSWORD = "benchmark password 123"  # noqa: S105
AREAS = {"North": 40_000.0, "East": 30_000.0, "South": 30_000.0, "West": 20_000.0}


def setup(settings: Settings, n: int) -> tuple[int, int]:
    upgrade_to_head(settings)
    with session_scope(settings) as session:
        place = create_place(session, name="Benchville", slug="benchville",
                             adult_population=120_000)
        for i, sector in enumerate([Sector.LOCAL_GOVERNMENT, Sector.NHS, Sector.POLICE_AND_JUSTICE,
                                    Sector.HOUSING, Sector.VOLUNTARY_AND_COMMUNITY]):
            add_partner(session, place, name=f"Partner {i + 1}", sector=sector)
        user = create_user(session, name="Bench Analyst", email="analyst@bench.example",
                           password=PASSWORD)
        set_role(session, user, place, Role.ANALYST)
        session.flush()
        voice = create_round(session, place, instrument_key="citizen_voice", title="Voice",
                             opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1), areas=AREAS)
        rows, _ = citizen_rows(n, seed=1, areas=list(AREAS))
        _store(session, voice, rows, datetime.now(UTC))
        ready = create_round(session, place, instrument_key="readiness", title="Readiness",
                             opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1))
        _store(session, ready, readiness_rows(place, n, seed=2), datetime.now(UTC))
        return voice.id, ready.id


def measure(client: TestClient | httpx.Client, ids: tuple[int, int], n: int, where: str) -> None:
    page = client.get("/sign-in")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/sign-in", data={"csrf_token": token, "email": "analyst@bench.example",
                                  "password": PASSWORD}, follow_redirects=False)
    voice_id, ready_id = ids
    for label, rid in (("citizen voice", voice_id), ("readiness", ready_id)):
        url = f"/places/benchville/surveys/{rid}/results"
        cold = timed(client, url)
        warm = [timed(client, url) for _ in range(20)]
        median = statistics.median(warm)
        p95 = sorted(warm)[int(0.95 * len(warm)) - 1]
        print(f"[{where}] {label} results page, {n:,} responses: first view (computes and "
              f"caches) {cold:.0f} ms; later views median {median:.0f} ms, "
              f"95th percentile {p95:.0f} ms (target < 300 ms) -> "
              f"{'met' if median < 300 else 'MISSED'}")
        names = (("measures", "themes") if label == "citizen voice"
                 else ("components", "gaps", "partners", "levels"))
        charts = [timed(client, f"/places/benchville/surveys/{rid}/charts/{name}.svg")
                  for name in names]
        print(f"  its charts, first request each: {', '.join(f'{c:.0f}' for c in charts)} ms")


def timed(client: TestClient | httpx.Client, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    elapsed = time.perf_counter() - t
    assert r.status_code == 200, (url, r.status_code)
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.sqlite3",
                            secret_key="bench-secret-key-" + "x" * 20)
        t = time.perf_counter()
        voice_id, ready_id = setup(settings, args.n)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}; SQLite")
        print(f"set-up of two rounds of {args.n:,} responses: {time.perf_counter() - t:.1f} s")
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            measure(client, (voice_id, ready_id), args.n, "ASGI app")
    # The same against a real server: uvicorn in its own process, over HTTP on localhost.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.server import running_server

    ids: list[int] = []
    with tempfile.TemporaryDirectory() as tmp, running_server(
        Path(tmp), seed=lambda s: ids.extend(setup(s, args.n))
    ) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        measure(http, (ids[0], ids[1]), args.n, "uvicorn, 1 worker")


if __name__ == "__main__":
    main()
