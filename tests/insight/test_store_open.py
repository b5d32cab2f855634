"""Opening a place's store while another thread of the process is still closing it.

CI once failed a test that opened the store the moment a linkage run reported 'done': the
run's thread was still tearing down its DuckDB database, and DuckDB refused to attach the
same file a second time. An open now waits for that teardown; these tests plant the
conflict DuckDB raises, since the real window is too narrow to hit on demand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from joinedup.insight import store

CONFLICT = (
    'Resource In Use Error: Unique file handle conflict: Cannot attach "p" - the database file '
    '"p.duckdb" is already attached by database "p"'
)


def _conflicts_then_opens(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    real = duckdb.connect
    calls: list[int] = []

    def connect(database: str, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        calls.append(1)
        if len(calls) <= times:
            raise duckdb.ResourceInUseException(CONFLICT)
        return real(database, *args, **kwargs)

    monkeypatch.setattr(store.duckdb, "connect", connect)
    return calls


def test_an_open_waits_for_the_file_to_be_released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _conflicts_then_opens(monkeypatch, times=3)
    con = store.connect(tmp_path / "p.duckdb", wait_seconds=5)
    try:
        assert con.execute("SELECT count(*) FROM link_runs").fetchone() == (0,)
    finally:
        con.close()
    assert len(calls) == 4


def test_a_conflict_that_lasts_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _conflicts_then_opens(monkeypatch, times=10_000)
    with pytest.raises(duckdb.ResourceInUseException, match="p.duckdb"):
        store.connect(tmp_path / "p.duckdb", wait_seconds=0.2)


def test_other_refusals_are_not_waited_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(database: str, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        raise duckdb.ResourceInUseException("Could not set lock on file: held by another process")

    monkeypatch.setattr(store.duckdb, "connect", connect)
    with pytest.raises(duckdb.ResourceInUseException, match="another process"):
        store.connect(tmp_path / "p.duckdb", wait_seconds=30)


class _Busy:
    """A connection whose plain CHECKPOINT is refused ``refusals`` times, as DuckDB refuses
    it while another connection of the process is writing (seen in CI: a source deleted
    while the dashboard's figures were warming)."""

    def __init__(self, refusals: int) -> None:
        self.refusals, self.statements = refusals, []

    def execute(self, sql: str) -> None:
        self.statements.append(sql)
        if sql == "CHECKPOINT" and self.refusals:
            self.refusals -= 1
            raise duckdb.TransactionException("Cannot CHECKPOINT: there are other write transactions active")


def test_a_checkpoint_refused_while_another_connection_writes_is_tried_again() -> None:
    from joinedup.insight.store import checkpoint

    busy = _Busy(refusals=2)
    checkpoint(busy)  # type: ignore[arg-type]
    assert busy.statements == ["CHECKPOINT"] * 3
    always = _Busy(refusals=100)
    checkpoint(always, attempts=3)  # type: ignore[arg-type]
    assert always.statements == ["CHECKPOINT"] * 3 + ["FORCE CHECKPOINT"]
