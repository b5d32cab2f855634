"""The linkage run page shows progress without a meta refresh: a script polls a small JSON
status (same authorisation as the page), and a link refreshes the page without scripts."""

from __future__ import annotations

from pathlib import Path

from joinedup.config import Settings
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from tests.insight.test_web import BASE, SLUG, _as, insight, linked_place  # noqa: F401
from tests.support.client import PageClient
from tests.support.demo_like import demo  # noqa: F401


def _running_run(settings: Settings) -> int:
    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:
        (run_id,) = con.execute(
            "INSERT INTO link_runs (run_id, started_at, status, stage) "
            "SELECT max(run_id) + 1, now(), 'running', 'scoring pairs of records' FROM link_runs "
            "RETURNING run_id"
        ).fetchall()[0]
    finally:
        con.close()
    return int(run_id)


def test_a_running_run_polls_a_status_instead_of_refreshing(
    client: PageClient, insight: Path, settings: Settings  # noqa: F811
) -> None:
    run_id = _running_run(settings)
    _as(client, Role.ANALYST)
    page = client.get(f"{BASE}/runs/{run_id}")
    assert page.status_code == 200
    assert 'http-equiv="refresh"' not in page.text
    assert 'aria-live="polite"' in page.text and "scoring pairs of records" in page.text
    assert f'href="{BASE}/runs/{run_id}"' in page.text  # refresh by hand
    assert '<script type="module" src="/static/run-progress.js"' in page.text
    status = client.get(f"{BASE}/runs/{run_id}/status.json")
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "running" and body["finished"] is False
    assert body["stage"] == "scoring pairs of records"
    assert [s["state"] for s in body["steps"]][:5] == ["done", "done", "done", "current", "waiting"]


def test_a_finished_run_says_so_and_has_no_script(client: PageClient, insight: Path) -> None:  # noqa: F811
    _as(client, Role.ANALYST)
    body = client.get(f"{BASE}/runs/1/status.json").json()
    assert body["finished"] is True and body["status"] == "done"
    page = client.get(f"{BASE}/runs/1")
    assert "Linking finished" in page.text and "run-progress.js" not in page.text


def test_the_status_has_the_run_pages_authorisation(client: PageClient, insight: Path) -> None:  # noqa: F811
    _as(client, Role.VIEWER)
    assert client.get(f"{BASE}/runs/1/status.json").status_code == 403
    assert client.get(f"{BASE}/runs/1").status_code == 403


def test_the_status_of_an_unknown_run_is_not_found(client: PageClient, insight: Path) -> None:  # noqa: F811
    _as(client, Role.ANALYST)
    assert client.get(f"{BASE}/runs/999/status.json").status_code == 404


def test_a_finished_run_lists_only_the_stages_it_went_through(
    client: PageClient, insight: Path, settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    from joinedup.insight.link import link_place

    con = connect(Path(settings.insight_dir) / f"{SLUG}.duckdb", memory_limit="500MB", threads=1)
    try:  # an incremental run with the stored model (nothing new: it scores no pair)
        run_id = link_place(con, work_dir=tmp_path / "work", mode="incremental").run_id
    finally:
        con.close()
    _as(client, Role.ANALYST)
    full = client.get(f"{BASE}/runs/1").text
    assert "Training the model" in full and "Scoring pairs of records" in full
    incremental = client.get(f"{BASE}/runs/{run_id}").text
    assert "Incremental" in incremental and "Scoring pairs of records" in incremental
    # It did not train the model, nor write Splink's explanations: the page does not say it did.
    assert "Training the model" not in incremental
    assert "Writing Splink" not in incremental
