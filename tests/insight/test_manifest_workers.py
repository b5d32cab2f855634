"""A manifest read and normalised in worker processes: the store must end exactly as with
one process (every record, every quarantined row and reason, every source's counts), and a
bad file among good ones must fail alone, with the same message, as it does in one process."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from joinedup.insight.held_sources import records_table
from joinedup.insight.manifest import (
    PARALLEL_FROM_BYTES,
    READ_AHEAD_BYTES,
    _read_ahead,
    default_workers,
    ingest_manifest,
    load_manifest,
)
from joinedup.insight.store import RECORD_COLUMNS, connect
from joinedup.synth.insight import generate_place


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers")
    place = generate_place(300, root, seed=5)
    lines = []
    for source in place.sources:
        lines += ["[[extract]]", f'file = "{place.extract(source).name}"',
                  f'mapping = "{place.mapping(source).name}"', ""]  # fmt: skip
    # A file that cannot be read, in the middle of the manifest.
    (root / "broken.csv").write_bytes(b"\xff\xfe\x00not,a,csv\n" * 3)
    (root / "broken.toml").write_text(place.mapping(place.sources[0]).read_text().replace(
        f'name = "{place.sources[0]}"', 'name = "broken"'))  # fmt: skip
    lines[4:4] = ["[[extract]]", 'file = "broken.csv"', 'mapping = "broken.toml"', 'source = "broken"', ""]
    path = root / "place.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _ingest(
    manifest: Path, store: Path, workers: int
) -> tuple[list[str], list[str], dict[str, list[tuple[object, ...]]]]:
    con = connect(store, memory_limit="1GB", threads=1)
    try:
        result = ingest_manifest(con, load_manifest(manifest, con), workers=workers)
        tables = {
            "records": con.execute("SELECT * FROM records ORDER BY source, record_id").fetchall(),
            "quarantine": con.execute("SELECT * FROM quarantine ORDER BY source, row_number").fetchall(),
            "sources": con.execute(
                "SELECT name, content_hash, n_rows, n_records, n_quarantined, n_warnings, notes "
                "FROM sources ORDER BY name"
            ).fetchall(),
        }
    finally:
        con.close()
    return [r.source for r in result.reports], [f"{e.source}: {m}" for e, m in result.failures], tables


def test_workers_leave_the_store_as_one_process_does(manifest: Path, tmp_path: Path) -> None:
    one = _ingest(manifest, tmp_path / "one.duckdb", workers=1)
    two = _ingest(manifest, tmp_path / "two.duckdb", workers=2)
    assert one[0] == two[0] and len(one[0]) >= 8  # the same sources, in the manifest's order
    assert one[1] == two[1] and len(one[1]) == 1 and one[1][0].startswith("broken: ")
    assert one[2]["records"] and one[2]["quarantine"]  # something to compare on both counts
    assert one[2] == two[2]
    # A second run with workers finds every file unchanged and starts no work.
    con = connect(tmp_path / "two.duckdb", memory_limit="1GB", threads=1)
    try:
        again = ingest_manifest(con, load_manifest(manifest, con), workers=2)
    finally:
        con.close()
    assert all(r.unchanged for r in again.reports) and len(again.failures) == 1


def test_small_manifests_use_one_process_and_large_ones_one_per_core(manifest: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb", memory_limit="1GB", threads=1)
    try:
        entries = load_manifest(manifest, con)
    finally:
        con.close()
    assert default_workers(entries) == 1  # a few hundred KB: workers would cost more than they save
    big = [replace(e, file=tmp_path / f"big{e.number}.csv") for e in entries[:3]]
    for e in big:
        with e.file.open("wb") as f:
            f.truncate(PARALLEL_FROM_BYTES // 2)  # sparse: the size is what counts
    assert default_workers(big) == min(len(os.sched_getaffinity(0)), 3)


def test_a_worker_that_dies_fails_its_files_and_writes_none(manifest: Path, tmp_path: Path) -> None:
    # A worker ended by the operating system (as for want of memory) must not take the
    # command down with a traceback, nor leave half a file: its files are reported failed.
    con = connect(tmp_path / "d.duckdb", memory_limit="1GB", threads=1)
    try:
        entries = [e for e in load_manifest(manifest, con) if e.source != "broken"]
        with mock.patch("joinedup.insight.manifest._read_elsewhere", _die):
            result = ingest_manifest(con, entries, workers=2)
        (held,) = con.execute("SELECT count(*) FROM records").fetchone() or (0,)
    finally:
        con.close()
    assert not result.reports and len(result.failures) == len(entries)
    assert all("stopped before it finished" in message for _, message in result.failures)
    assert held == 0


def _die(*_args: object) -> None:
    os._exit(9)


def test_files_are_read_ahead_by_bytes_as_well_as_by_count() -> None:
    # Writing file 0, two workers: three files may always be in hand (0, 1, 2); a fourth
    # only while the files waiting, from the one being written on, fit in the window.
    small, large = 2**20, READ_AHEAD_BYTES
    assert _read_ahead([large, large, large, small], 0, 2, workers=2)
    assert not _read_ahead([large, large, large, small], 0, 3, workers=2)
    assert _read_ahead([small] * 6, 0, 5, workers=2)
    assert not _read_ahead([small] * 6, 0, 6, workers=2)  # nothing left to read
    # Once file 3 is being written, what was written before it no longer counts.
    assert _read_ahead([large, large, large, small, small], 3, 4, workers=2)


def test_records_cross_as_arrow_unless_a_value_will_not_fit_its_column() -> None:
    # The writer reads either; a value Arrow cannot hold in its column's type (a byte that
    # was not UTF-8, kept as a surrogate escape) leaves the frame as it is, never altered.
    frame = pd.DataFrame([{name: None for name, _ in RECORD_COLUMNS}] * 2)
    frame["source"], frame["record_id"], frame["row_number"] = "a", ["1", "2"], [2, 3]
    frame["date_of_birth"] = [date(1980, 4, 3), np.nan]
    table = records_table(frame)
    assert isinstance(table, pa.Table)
    assert table.column("date_of_birth").to_pylist() == [date(1980, 4, 3), None]
    assert table.schema.field("date_of_birth").type == pa.date32()
    frame.loc[1, "surname_raw"] = "Sm\udc80ith"
    assert records_table(frame) is frame
