"""Benchmark: the insight dashboard through a real server (`uvicorn joinedup.web.app`).

    .venv/bin/python bench/dashboard.py [--repeats 20] [--before-ref 578c7e1] [--people 0] [--data DIR]

Loads the demo place once (or, with ``--people N``, a synthetic place of N people instead),
then starts a server on it in up to three ways, one after the other, and measures each the
same way, signed in as a viewer (who sees the disclosure-controlled figures):

- ``before``: the code at ``--before-ref`` (a git ref; its ``src`` is exported to a temporary
  directory and put first on the server's PYTHONPATH) — what the dashboard did before;
- ``no cache``: this code with ``JOINEDUP_FIGURE_CACHE_MB=0``, so every figure is computed;
- ``cached``: this code as it ships.

For each: the first view after a change (an analyst edits a unit cost, then the dashboard
is opened at once, and again once the background warming has had time: both timed), then
repeated views of the dashboard, a change of financial year, each chart SVG and a CSV export.
Prints medians and 90th percentiles side by side (milliseconds).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.demo_like import DEMO_PASSWORD  # noqa: E402
from tests.support.server import running_server  # noqa: E402

SLUG = "northbrook"
BASE = f"/places/{SLUG}/insight"
CHARTS = ("cohorts", "overlaps", "costs", "network")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _seed_demo(settings: object) -> None:
    from joinedup.synth.demo import load_demo

    load_demo(settings)  # type: ignore[arg-type]


def _seed_synthetic(people: int) -> Callable[[object], None]:
    def seed(settings: object) -> None:
        from joinedup.db.session import session_scope
        from joinedup.insight.pipeline import load_synthetic_place
        from tests.support.demo_like import seed_demo_like

        with session_scope(settings) as session:  # type: ignore[arg-type]
            seed_demo_like(session)
        load_synthetic_place(SLUG, settings, people=people, seed=2025)

    return seed


def _signed_in(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=300)
    token = _TOKEN.search(client.get("/sign-in").text)
    assert token
    response = client.post("/sign-in", data={"csrf_token": token.group(1), "email": email,
                                             "password": DEMO_PASSWORD})  # fmt: skip
    assert response.status_code in {200, 303}, response.status_code
    return client


def _ms(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = 1000 * (time.perf_counter() - start)
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def _page_with_images(client: httpx.Client, path: str) -> float:
    """The dashboard as a browser needs it: the page, then its four charts (one at a time)."""
    total = _ms(client, path)
    year = re.search(r"year=([0-9-]+)", path)
    for chart in CHARTS:
        query = f"?year={year.group(1)}" if year and chart == "costs" else ""
        total += _ms(client, f"{BASE}/charts/{chart}.svg{query}")
    return total


def _edit_cost(analyst: httpx.Client, pounds: float) -> None:
    page = analyst.get(f"{BASE}/costs")
    token = _TOKEN.search(page.text)
    assert token
    response = analyst.post(f"{BASE}/costs", data={
        "csrf_token": token.group(1), "code": "HO3.0", "cost_gbp": f"{pounds:.2f}", "price_year": "2024-25",
    })  # fmt: skip
    assert response.status_code in {200, 303}, response.status_code


def _stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return statistics.median(values), p90


def measure(url: str, repeats: int, years: list[str]) -> dict[str, list[float]]:
    viewer = _signed_in(url, "viewer@northbrook.example")
    analyst = _signed_in(url, "analyst@northbrook.example")
    out: dict[str, list[float]] = {}
    first, warmed = [], []
    for i in range(max(3, repeats // 4)):
        _edit_cost(analyst, 2000.0 + i)
        first.append(_page_with_images(viewer, BASE))
        _edit_cost(analyst, 3000.0 + i)
        time.sleep(5)  # what warming in the background does while the analyst moves on
        warmed.append(_page_with_images(viewer, BASE))
    out["first view after a cost edit (page + 4 charts)"] = first
    out["first view 5 s after a cost edit (page + 4 charts)"] = warmed
    _page_with_images(viewer, BASE)
    out["dashboard page"] = [_ms(viewer, BASE) for _ in range(repeats)]
    out["dashboard page + 4 charts"] = [_page_with_images(viewer, BASE) for _ in range(repeats)]
    if len(years) > 1:
        changes = []
        for i in range(repeats):
            changes.append(_page_with_images(viewer, f"{BASE}?year={years[1 + i % (len(years) - 1)]}"))
        out["change of year (page + 4 charts)"] = changes
    for chart in CHARTS:
        out[f"chart {chart}.svg"] = [_ms(viewer, f"{BASE}/charts/{chart}.svg") for _ in range(repeats)]
    out["CSV export demand.csv"] = [_ms(viewer, f"{BASE}/export/demand.csv") for _ in range(repeats)]
    viewer.close()
    analyst.close()
    return out


def _export_before(ref: str, into: Path) -> Path:
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "archive", ref, "src"], cwd=root, check=True, capture_output=True)  # noqa: S603, S607
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)  # noqa: S603, S607
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--before-ref", default="", help="git ref of the code before (e.g. 578c7e1)")
    parser.add_argument("--people", type=int, default=0, help="a synthetic place of this size")
    parser.add_argument("--data", default="", help="a data directory loaded before (kept)")
    parser.add_argument("--ways", default="before,no cache,cached", help="which to measure")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; Python {platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "place"
        seed: Callable[[object], None] | None = _seed_synthetic(args.people) if args.people else _seed_demo
        started = time.perf_counter()
        if args.data:  # a place loaded by an earlier run: measured, not loaded again
            data, seed = Path(args.data), None
        with running_server(data, seed=seed, timeout=600) as server:
            probe = _signed_in(server.url, "viewer@northbrook.example")
            years = re.findall(r'<option value="([0-9]{4}-[0-9]{2})"', probe.get(BASE).text)
            probe.close()
        print(f"place loaded in {time.perf_counter() - started:.0f} s; financial years: {years}")
        ways: list[tuple[str, dict[str, str]]] = []
        if args.before_ref:
            ways.append(("before", {"PYTHONPATH": str(_export_before(args.before_ref, Path(tmp)))}))
        ways += [("no cache", {"JOINEDUP_FIGURE_CACHE_MB": "0"}), ("cached", {})]
        ways = [(n, e) for n, e in ways if n in args.ways.split(",")]
        results: dict[str, dict[str, list[float]]] = {}
        for name, env in ways:
            with running_server(data, seed=None, env=env, timeout=300) as server:
                results[name] = measure(server.url, args.repeats, years)
            print(f"measured {name}: " + "; ".join(
                f"{what} median {statistics.median(v):,.0f} ms" for what, v in results[name].items()
            ), flush=True)  # fmt: skip
    names = [n for n, _ in ways]
    header = "| request | " + " | ".join(f"{n} median | {n} p90" for n in names) + " |"
    print(header)
    print("|" + " --- |" * (1 + 2 * len(names)))
    last = names[-1]
    for what in results[last]:
        cells = []
        for n in names:
            median, p90 = _stats(results[n][what])
            cells += [f"{median:,.0f}", f"{p90:,.0f}"]
        print(f"| {what} (n={len(results[last][what])}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
