"""A purge removes every expired source in one transaction, refreshing the kept model input
once per source: so the refresh reads a table it wrote earlier in the same transaction.
DuckDB 2.0 read such a table wrongly by row number (a segmentation fault, or "Corrupted
uncompressed string segment", in about one purge of nine sources in five), which took the
whole process down with it. This purges the same store many times, each in a process of its
own, so that a crash fails the test rather than the test run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from joinedup.insight import input_cache
from joinedup.insight.pipeline import ingest_directory
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import connect
from joinedup.synth.insight import SOURCES, generate_place

PURGES = 30  # with reads by row number, 11 purges of 60 failed: all 30 passing by chance is ~0.3%

_PURGE_REPEATEDLY = textwrap.dedent(
    """
    import shutil, sys
    from datetime import date
    from pathlib import Path
    from joinedup.insight.governance import purge_expired
    from joinedup.insight.store import connect

    base, work, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    for _ in range(n):
        shutil.copy(base, work)
        con = connect(work, memory_limit="1GB", threads=2)
        removed = purge_expired(con, date(2030, 1, 1))
        left = con.execute("SELECT count(*) FROM link_input_cache").fetchone()
        con.close()
        print(len(removed), left[0])
    """
)


@pytest.mark.slow
def test_purging_every_source_in_one_transaction_never_crashes(tmp_path: Path) -> None:
    generate_place(300, tmp_path / "extracts", seed=4)
    base = tmp_path / "place.duckdb"
    con = connect(base, memory_limit="1GB", threads=2)
    seed_reference(con)
    ingest_directory(con, tmp_path / "extracts")
    input_cache.rebuild(con)  # as a link run leaves it
    con.execute("UPDATE sources SET retain_until = DATE '2029-12-31'")
    con.execute("CHECKPOINT")
    con.close()

    done = subprocess.run(
        [sys.executable, "-c", _PURGE_REPEATEDLY, str(base), str(tmp_path / "work.duckdb"), str(PURGES)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    # Every purge removed every source, and left the kept model input empty with them.
    assert done.stdout.split("\n")[:-1] == [f"{len(SOURCES)} 0"] * PURGES
