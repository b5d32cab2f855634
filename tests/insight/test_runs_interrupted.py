"""A linkage run killed mid-way does not stay 'running' for good (issue 7, section 6): a run
records its process, and the next look at the store marks a run whose process has gone as
failed: interrupted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from joinedup.config import Settings
from joinedup.insight import processes
from joinedup.insight.link import start_run
from joinedup.insight.runs import run_status
from joinedup.insight.store import connect
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _add_run(con: duckdb.DuckDBPyConnection, run_id: int, pid: int, host: str, start: str | None) -> None:
    con.execute(
        "INSERT INTO link_runs (run_id, started_at, backend, status, stage, pid, host, process_start) "
        "VALUES (?, ?, 'duckdb', 'running', 'training the model', ?, ?, ?)",
        [run_id, datetime.now(), pid, host, start],
    )


def _status(path: Path) -> dict[int, tuple[str, str | None]]:
    con = connect(path, memory_limit="200MB", threads=1)
    try:
        rows = con.execute("SELECT run_id, status, message FROM link_runs").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        con.close()


@pytest.mark.skipif(os.name != "posix", reason="process checks need POSIX signals")
def test_a_run_whose_process_has_gone_is_failed_on_the_next_look(tmp_path: Path) -> None:
    path = tmp_path / "place.duckdb"
    con = connect(path, memory_limit="200MB", threads=1)
    me, host, started = processes.current()
    _add_run(con, 1, _dead_pid(), host, None)  # killed mid-way
    _add_run(con, 2, me, host, started)  # still going (this process)
    _add_run(con, 3, me, host, "1")  # its id now belongs to another process
    _add_run(con, 4, _dead_pid(), "elsewhere.example", None)  # another host: cannot tell
    con.close()
    status = _status(path)
    assert status[1][0] == "failed" and (status[1][1] or "").startswith("interrupted")
    assert status[2] == ("running", None)
    assert status[3][0] == "failed"
    assert status[4] == ("running", None)


def test_a_new_run_records_its_process(store: duckdb.DuckDBPyConnection) -> None:
    run_id = start_run(store, "duckdb", 0.9, 1)
    row = store.execute("SELECT pid, host FROM link_runs WHERE run_id = ?", [run_id]).fetchone()
    assert row == (os.getpid(), socket.gethostname())


@pytest.mark.skipif(os.name != "posix", reason="process checks need POSIX signals")
def test_the_runs_pages_show_an_interrupted_run_as_failed(
    client: PageClient, settings: Settings, demo: DemoLike  # noqa: F811
) -> None:
    path = Path(settings.insight_dir) / "northbrook.duckdb"
    con = connect(path, memory_limit="200MB", threads=1)
    _add_run(con, 1, _dead_pid(), socket.gethostname(), None)
    con.close()
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    page = client.get("/places/northbrook/insight/runs")
    assert page.status_code == 200
    assert "failed (interrupted" in page.text and ">running<" not in page.text
    status = run_status(settings, "northbrook", 1)
    assert status is not None and status["status"] == "failed"


def test_a_store_made_before_gains_the_new_columns(tmp_path: Path) -> None:
    from joinedup.insight import store as store_mod

    old = store_mod._SCHEMA.split("-- Stores made before")[0]
    old = old.replace(",\n    notes VARCHAR\n", "\n").replace(
        ",\n    pid INTEGER,\n    host VARCHAR,\n    process_start VARCHAR\n", "\n"
    )
    assert "notes" not in old and "pid" not in old
    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    raw.execute(old)
    raw.close()
    con = connect(path, memory_limit="200MB", threads=1)
    try:
        run_id = start_run(con, "duckdb", 0.9, 1)
        pid = con.execute("SELECT pid FROM link_runs WHERE run_id = ?", [run_id]).fetchone()
        assert pid == (os.getpid(),)
        assert ("notes",) in con.execute("SELECT column_name FROM duckdb_columns() "
                                         "WHERE table_name = 'sources'").fetchall()
    finally:
        con.close()
