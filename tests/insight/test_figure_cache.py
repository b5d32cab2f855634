"""Figures kept per data version: served again while nothing changed, never after a change.

Each change that can alter a published figure (a new link run, a deleted source, a new cohort,
an edited unit cost or deflator, a changed disclosure threshold) is made, and the dashboard,
its charts and its CSV exports must show the new figures at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from sqlalchemy.orm import Session

from joinedup.config import Settings
from joinedup.insight import demand, figure_cache
from joinedup.insight.cohorts import define_cohort
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import DisclosureRule
from joinedup.insight.governance import remove_source
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from joinedup.places.service import get_place
from tests.insight.test_web import BASE, SLUG, _as, insight, linked_place  # noqa: F401
from tests.support.client import PageClient
from tests.support.demo_like import DemoLike, demo  # noqa: F401

# --- the cache itself -----------------------------------------------------------------------


def test_cache_keeps_within_its_memory_bound_least_recently_used_first() -> None:
    cache = figure_cache.FigureCache(max_bytes=3_000)
    for i in range(10):
        cache.get(("svg", i), lambda i=i: "x" * 900 + str(i))
    assert cache.bytes <= 3_000
    assert len(cache) == 3
    made: list[int] = []
    cache.get(("svg", 9), lambda: made.append(9) or "again")
    cache.get(("svg", 0), lambda: made.append(0) or "again")
    assert made == [0]  # the newest was kept, the oldest had gone


def test_cache_of_nothing_keeps_nothing() -> None:
    cache = figure_cache.FigureCache(max_bytes=0)
    calls: list[int] = []
    for _ in range(3):
        cache.get("k", lambda: calls.append(1) or "v")
    assert len(calls) == 3 and len(cache) == 0


def test_two_requests_for_a_missing_figure_compute_it_once() -> None:
    cache = figure_cache.FigureCache(max_bytes=10_000)
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "figure"

    threads = [threading.Thread(target=cache.get, args=("k", slow)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]


def test_a_failed_computation_is_not_kept() -> None:
    cache = figure_cache.FigureCache(max_bytes=10_000)

    def broken() -> str:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.get("k", lambda: "ok") == "ok"


# --- the data version -----------------------------------------------------------------------


@pytest.fixture
def linked_store(tmp_path: Path, linked_place: Path) -> Iterator[duckdb.DuckDBPyConnection]:  # noqa: F811
    import shutil

    path = tmp_path / f"{SLUG}.duckdb"
    shutil.copy(linked_place / "insight" / f"{SLUG}.duckdb", path)
    con = connect(path, memory_limit="500MB", threads=1)
    yield con
    con.close()


def _new_run(con: duckdb.DuckDBPyConnection) -> None:
    """What a link run writes: a run row and person links that differ, not in number."""
    con.execute(
        "INSERT INTO link_runs (run_id, started_at, finished_at, status, stage) "
        "SELECT max(run_id) + 1, now(), now(), 'done', 'finished' FROM link_runs"
    )
    con.execute(
        "UPDATE person_links SET person_id = (SELECT min(person_id) FROM person_links) "
        "WHERE person_id IN (SELECT DISTINCT person_id FROM person_links ORDER BY person_id LIMIT 40)"
    )


CHANGES = {
    "new link run": _new_run,
    "source deleted": lambda con: remove_source(
        con, con.execute("SELECT min(name) FROM sources").fetchall()[0][0]
    ),
    "cohort defined": lambda con: define_cohort(con, "mh", "Mental health", [], 1),
    "unit cost edited": lambda con: con.execute("UPDATE unit_costs SET cost_gbp = cost_gbp * 3"),
    "deflator edited": lambda con: demand.set_deflator(con, "2024-25", 250.0),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_makes_a_new_data_version(linked_store: duckdb.DuckDBPyConnection, change: str) -> None:
    ctx = PlaceContext(slug=SLUG)
    before = figure_cache.data_version(linked_store, ctx)
    assert figure_cache.data_version(linked_store, ctx) == before  # stable while nothing changes
    CHANGES[change](linked_store)
    assert figure_cache.data_version(linked_store, ctx) != before


def test_a_stricter_disclosure_rule_is_a_new_data_version(linked_store: duckdb.DuckDBPyConnection) -> None:
    loose = figure_cache.data_version(linked_store, PlaceContext(slug=SLUG))
    stricter = PlaceContext(slug=SLUG, rule=DisclosureRule(threshold=20))
    strict = figure_cache.data_version(linked_store, stricter)
    assert loose != strict


# --- through the web app: nothing stale is served -------------------------------------------


@contextmanager
def _store(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        yield con
    finally:
        con.close()


def _published(client: PageClient) -> dict[str, bytes]:
    """Everything a viewer sees of the figures: dashboard, charts and CSV exports."""
    # The page differs per request only by its CSP nonce.
    out = {"dashboard": re.sub(rb'nonce="[^"]*"', b"", client.get(BASE).content)}
    for chart in ("cohorts", "overlaps", "costs", "network"):
        out[f"{chart}.svg"] = client.get(f"{BASE}/charts/{chart}.svg").content
    for table in ("cohorts", "overlaps", "costs", "demand", "network"):
        out[f"{table}.csv"] = client.get(f"{BASE}/export/{table}.csv").content
    return out


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def test_a_unit_cost_edit_shows_at_once(client: PageClient, insight: Path, settings: Settings) -> None:  # noqa: F811
    _as(client, Role.VIEWER)
    before = _published(client)
    assert _published(client) == before  # the same figures again (served from the cache)
    with _store(settings) as con:
        con.execute("UPDATE unit_costs SET cost_gbp = cost_gbp * 7 + 1000")
    changed = _changed(before, _published(client))
    assert {"costs.csv", "demand.csv", "costs.svg", "dashboard"} <= changed


def test_a_stricter_threshold_shows_at_once(
    client: PageClient, insight: Path, session: Session  # noqa: F811
) -> None:
    _as(client, Role.VIEWER)
    before = _published(client)
    place = get_place(session, SLUG)
    assert place is not None
    place.disclosure_threshold = 40
    session.commit()
    changed = _changed(before, _published(client))
    assert {"overlaps.csv", "cohorts.csv", "dashboard"} <= changed


def test_a_new_cohort_shows_at_once(client: PageClient, insight: Path, settings: Settings) -> None:  # noqa: F811
    _as(client, Role.VIEWER)
    before = _published(client)
    with _store(settings) as con:
        define_cohort(con, "mental_health_any", "Any mental health need", ["mental_health"], 1)
    after = _published(client)
    assert b"Any mental health need" in after["cohorts.csv"]
    assert {"cohorts.csv", "cohorts.svg", "dashboard"} <= _changed(before, after)


def test_a_deleted_source_and_a_new_run_show_at_once(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    _as(client, Role.VIEWER)
    before = _published(client)
    with _store(settings) as con:
        name = con.execute("SELECT min(name) FROM sources").fetchall()[0][0]
        remove_source(con, name)
    after_delete = _published(client)
    assert {"overlaps.csv", "network.csv", "dashboard"} <= _changed(before, after_delete)
    with _store(settings) as con:
        _new_run(con)
    assert {"overlaps.csv", "dashboard"} <= _changed(after_delete, _published(client))


def test_warming_computes_what_the_dashboard_shows_first(linked_store: duckdb.DuckDBPyConnection) -> None:
    from joinedup.insight import dashboard_figures
    from joinedup.insight.periods import available_years

    cache = figure_cache.reset()
    ctx = PlaceContext(slug=SLUG)
    dashboard_figures.warm(linked_store, ctx)
    made = cache.misses
    newest = available_years(linked_store)[0]
    dashboard_figures.dashboard_tables(linked_store, ctx, newest)
    for name in dashboard_figures.CHARTS:
        dashboard_figures.chart_svg(linked_store, ctx, name, newest)
    assert cache.misses == made  # everything was there already
    assert cache.hits >= 1 + len(dashboard_figures.CHARTS)
