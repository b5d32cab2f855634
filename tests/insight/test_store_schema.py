"""Two connections to one store creating the same tables at once: a page reading a run's
details while the run, in its own thread, makes the tables (CI once showed the page a 500)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from joinedup.insight.store import create_if_missing

DDL = "CREATE TABLE IF NOT EXISTS link_things (a INTEGER);"


def _racing(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection, threading.Thread]:
    first = duckdb.connect(str(tmp_path / "store.duckdb"))
    second = first.cursor()  # another connection to the same database, as the page's is
    first.execute("BEGIN TRANSACTION")
    first.execute(DDL)  # the run has made the table, not yet committed
    commit = threading.Thread(target=lambda: (time.sleep(0.1), first.execute("COMMIT")))
    return first, second, commit


def test_a_plain_create_meets_the_conflict(tmp_path: Path) -> None:
    _first, second, commit = _racing(tmp_path)
    with pytest.raises(duckdb.TransactionException):
        second.execute(DDL)
    commit.start()
    commit.join()


def test_create_if_missing_waits_for_the_other_connection(tmp_path: Path) -> None:
    _first, second, commit = _racing(tmp_path)
    commit.start()
    create_if_missing(second, DDL)
    commit.join()
    assert second.execute("SELECT count(*) FROM link_things").fetchall() == [(0,)]
